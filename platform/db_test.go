package platform

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointWAL checks that commits on the platform's own SQLite
// database leave the WAL to the background checkpoint: 2,000 pages of
// writes stay in the WAL (a commit no longer checkpoints at SQLite's
// default 1,000 pages), and checkpointWAL copies them into the database
// file, committed rows intact.
func TestCheckpointWAL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal.db")
	db, _, err := openDatabase("sqlite:"+path, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeDB(db)() })
	if err := db.Exec("CREATE TABLE filler (id integer PRIMARY KEY, body text NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 3000) // about one 4 KiB page a row
	for i := range 2000 {
		if err := db.Exec("INSERT INTO filler (id, body) VALUES (?, ?)", i, body).Error; err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if got := size(); got > 1<<20 {
		t.Fatalf("the database file is %d bytes before any background checkpoint: a commit checkpointed", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); checkpointWAL(ctx, db, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(10 * time.Second)
	for size() < 2000*3000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10 s after checkpointWAL started", size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	var n int64
	if err := db.Raw("SELECT count(*) FROM filler").Scan(&n).Error; err != nil || n != 2000 {
		t.Fatalf("rows after the checkpoint: %d, %v", n, err)
	}
}
