package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/<pid>/stat; it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of the server process.
type ProcSample struct {
	// At is the time since the measured part of the run began, in seconds.
	At float64 `json:"at_s"`
	// RSSBytes is the resident set size (VmRSS).
	RSSBytes int64 `json:"rss_bytes"`
	// CPUSeconds is the user plus system CPU time the process has used
	// since it started.
	CPUSeconds float64 `json:"cpu_s"`
	// Load1 is the machine's one-minute load average (/proc/loadavg): the
	// number of runnable tasks, to compare with the number of cores.
	Load1 float64 `json:"load1"`
	// CPUPressure is the share of the last 10 s (0-100) in which at least
	// one runnable task waited for a CPU ("some avg10" of
	// /proc/pressure/cpu, Linux PSI); -1 when unavailable.
	CPUPressure float64 `json:"cpu_pressure"`
}

// readProc reads the resident set size and CPU time of process pid from
// /proc (Linux only).
func readProc(pid int) (rss int64, cpu float64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	if rss, err = parseVmRSS(status); err != nil {
		return 0, 0, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	cpu, err = parseCPU(stat)
	return rss, cpu, err
}

// parseVmRSS returns the VmRSS of a /proc/<pid>/status file, in bytes.
func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("loadtest: malformed VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("loadtest: malformed VmRSS line %q", sc.Text())
		}
		return kb * 1024, nil
	}
	return 0, errors.New("loadtest: no VmRSS in the process status")
}

// parseCPU returns utime+stime of a /proc/<pid>/stat line, in seconds. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("loadtest: malformed process stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the name: state is field 3, utime field 14, stime field 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(f) <= stime {
		return 0, errors.New("loadtest: malformed process stat")
	}
	u, err1 := strconv.ParseUint(f[utime], 10, 64)
	s, err2 := strconv.ParseUint(f[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("loadtest: malformed process stat")
	}
	return float64(u+s) / clockTicks, nil
}

// readLoad1 returns the one-minute load average from /proc/loadavg.
func readLoad1() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	return parseLoad1(b)
}

// parseLoad1 returns the first field of a /proc/loadavg line.
func parseLoad1(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("loadtest: empty load average")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0, errors.New("loadtest: malformed load average")
	}
	return v, nil
}

// readCPUPressure returns "some avg10" from /proc/pressure/cpu.
func readCPUPressure() (float64, error) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, err
	}
	return parsePressure(b)
}

// parsePressure returns the avg10 value of the "some" line of a PSI file.
func parsePressure(b []byte) (float64, error) {
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "some" {
			continue
		}
		v, ok := strings.CutPrefix(f[1], "avg10=")
		if !ok {
			break
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 100 {
			break
		}
		return x, nil
	}
	return 0, errors.New("loadtest: malformed pressure file")
}

// procSampler samples a process at an interval until stopped.
type procSampler struct {
	mu      sync.Mutex
	samples []ProcSample
	err     error
}

// sample reads pid every interval, timestamps with rec, until ctx ends.
func (p *procSampler) run(ctx context.Context, pid int, interval time.Duration, rec *recorder) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		rss, cpu, err := readProc(pid)
		p.mu.Lock()
		if err != nil {
			p.err = err
			p.mu.Unlock()
			return
		}
		load, _ := readLoad1() // 0 when unavailable
		pressure, err := readCPUPressure()
		if err != nil {
			pressure = -1
		}
		p.samples = append(p.samples, ProcSample{At: rec.since(time.Now()).Seconds(), RSSBytes: rss, CPUSeconds: cpu,
			Load1: load, CPUPressure: pressure})
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *procSampler) result() ([]ProcSample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ProcSample, len(p.samples))
	copy(out, p.samples)
	return out, p.err
}
