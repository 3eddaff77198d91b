package loadtest

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"Name:\tplatform\nVmRSS:\t   12345 kB\nThreads: 9\n", 12345 * 1024, false},
		{"VmRSS: 0 kB", 0, false},
		{"Name: x\n", 0, true},
		{"VmRSS: 12 MB", 0, true},
		{"VmRSS: -1 kB", 0, true},
		{"VmRSS: x kB", 0, true},
		{"VmRSS:", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVmRSS([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseVmRSS(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPU(t *testing.T) {
	t.Parallel()
	// Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...
	good := "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0"
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{good, 3, false},
		{"42 no-parens S 1", 0, true},
		{"42 (x) S 1 2 3", 0, true},
		{"42 (x) S 1 42 42 0 -1 4194560 100 0 0 0 a 50", 0, true},
	}
	for _, tt := range tests {
		got, err := parseCPU([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCPU(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseLoad1(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"0.52 0.58 0.59 1/467 1234\n": 0.52, "23.81 19.14 13.64 9/900 1": 23.81} {
		if got, err := parseLoad1([]byte(in)); err != nil || got != want {
			t.Errorf("parseLoad1(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "x 1 2", "-1 0 0"} {
		if _, err := parseLoad1([]byte(in)); err == nil {
			t.Errorf("parseLoad1(%q) succeeded", in)
		}
	}
	if _, err := readLoad1(); err != nil {
		t.Skipf("no /proc/loadavg: %v", err)
	}
}

func TestParsePressure(t *testing.T) {
	t.Parallel()
	good := "some avg10=92.63 avg60=74.15 avg300=47.64 total=4312982360\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	if got, err := parsePressure([]byte(good)); err != nil || got != 92.63 {
		t.Errorf("parsePressure = %v, %v", got, err)
	}
	for _, in := range []string{"", "full avg10=1.00", "some avg60=1.00", "some avg10=x", "some avg10=101"} {
		if _, err := parsePressure([]byte(in)); err == nil {
			t.Errorf("parsePressure(%q) succeeded", in)
		}
	}
	if _, err := readCPUPressure(); err != nil {
		t.Skipf("no PSI here: %v", err)
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("VmRSS:\t 100 kB\n"))
	f.Add([]byte("1 (x) R 1 1 1 0 -1 0 0 0 0 0 5 5 0"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if rss, err := parseVmRSS(b); err == nil && rss < 0 {
			t.Errorf("negative RSS %d", rss)
		}
		if cpu, err := parseCPU(b); err == nil && cpu < 0 {
			t.Errorf("negative CPU %v", cpu)
		}
		if l, err := parseLoad1(b); err == nil && l < 0 {
			t.Errorf("negative load %v", l)
		}
		if p, err := parsePressure(b); err == nil && (p < 0 || p > 100) {
			t.Errorf("pressure %v out of range", p)
		}
	})
}

func TestProcSamplerOwnProcess(t *testing.T) {
	t.Parallel()
	rss, cpu, err := readProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if rss <= 0 || cpu < 0 {
		t.Fatalf("rss %d cpu %v", rss, cpu)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	var s procSampler
	s.run(ctx, os.Getpid(), 20*time.Millisecond, newRecorder(time.Now))
	got, err := s.result()
	if err != nil || len(got) < 2 {
		t.Fatalf("%d samples, %v", len(got), err)
	}
	var gone procSampler
	gone.run(context.Background(), 1<<30, time.Millisecond, newRecorder(time.Now))
	if _, err := gone.result(); err == nil {
		t.Error("sampling a process that does not exist succeeded")
	}
}
