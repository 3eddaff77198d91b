package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzDecodePHC checks the PHC parser alone (no hashing, so a fuzzed
// parameter set cannot make the fuzzer allocate): no panics, and anything
// accepted stays inside the bounds and round-trips.
func FuzzDecodePHC(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=1048577,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$$",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		"$2b$10$abcdefghijklmnopqrstuu",
		"",
		"$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			return
		}
		if p.Memory > maxArgon2Memory || p.Iterations > maxArgon2Iterations || p.Iterations < 1 || p.Parallelism < 1 ||
			len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
		if again := encodePHC(p, salt, key); again != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, again)
		}
	})
}

// TestHasherBoundsConcurrency checks the semaphore: with every slot taken,
// a hash waits and gives up when its context ends; a freed slot lets it run.
func TestHasherBoundsConcurrency(t *testing.T) {
	h, err := NewPasswordHasher(WithMaxConcurrentHashes(2))
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.sem) != 2 {
		t.Fatalf("semaphore of %d slots, want 2", cap(h.sem))
	}
	h.sem <- struct{}{}
	h.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "waiting password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with all slots taken: %v, want DeadlineExceeded", err)
	}
	if _, err := h.Verify(ctx, "waiting password", h.dummy); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with all slots taken: %v, want DeadlineExceeded", err)
	}
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("VerifyDummy with all slots taken: %v", err)
	}
	<-h.sem
	if _, err := h.Hash(context.Background(), "runs now"); err != nil {
		t.Fatalf("Hash with a free slot: %v", err)
	}
	if len(h.sem) != 1 {
		t.Fatalf("%d slots held after the hash, want 1 (ours)", len(h.sem))
	}
	<-h.sem
	if d, err := NewPasswordHasher(); err != nil || cap(d.sem) < 1 {
		t.Fatalf("default semaphore: %v", err)
	}
}

// TestHasherQueueTimeout checks the bounded queue: with every slot taken, a
// hash gives up with ErrHasherBusy after the queue timeout even when its
// context would let it wait longer, and a context that ends first still
// wins.
func TestHasherQueueTimeout(t *testing.T) {
	t.Parallel()
	h, err := NewPasswordHasher(WithMaxConcurrentHashes(1), WithHashQueueTimeout(30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if h.QueueTimeout() != 30*time.Millisecond {
		t.Fatalf("QueueTimeout() = %s", h.QueueTimeout())
	}
	if d, _ := NewPasswordHasher(); d.QueueTimeout() != DefaultHashQueueTimeout {
		t.Fatalf("default queue timeout %s, want %s", d.QueueTimeout(), DefaultHashQueueTimeout)
	}
	h.sem <- struct{}{} // every slot taken
	ctx := context.Background()
	if _, err := h.Hash(ctx, "queued password"); !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Hash with the queue full: %v, want ErrHasherBusy", err)
	}
	if _, err := h.Verify(ctx, "queued password", h.dummy); !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Verify with the queue full: %v, want ErrHasherBusy", err)
	}
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("VerifyDummy with the queue full: %v, want ErrHasherBusy", err)
	}
	if _, err := h.Verify(ctx, string(make([]byte, maxPasswordBytes+1)), h.dummy); !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Verify of an over-long password with the queue full: %v, want ErrHasherBusy", err)
	}
	slow, err := NewPasswordHasher(WithMaxConcurrentHashes(1), WithHashQueueTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slow.sem <- struct{}{}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := slow.Hash(short, "queued password"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Hash whose context ends before the queue timeout: %v, want DeadlineExceeded", err)
	}
	<-h.sem
	if _, err := h.Hash(ctx, "runs now"); err != nil {
		t.Fatalf("Hash with a free slot: %v", err)
	}
}
