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
		p.samples = append(p.samples, ProcSample{At: rec.since(time.Now()).Seconds(), RSSBytes: rss, CPUSeconds: cpu, Load1: load})
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
