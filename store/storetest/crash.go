package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

const (
	crashChildEnv = "XIETONG_STORETEST_CRASH_CHILD"
	crashDSNEnv   = "XIETONG_STORETEST_CRASH_DSN"
	crashBatch    = 5
)

// Crash checks that a process killed with SIGKILL while writing loses no
// acknowledged transaction and leaves no half-applied one. Call it from a
// test named testName: the test binary re-runs itself as the writer (the
// child), which commits transactions of 5 new resources as fast as it can
// and prints each batch number after Commit returns; the parent kills it
// mid-stream, reopens the database with open and checks that every
// acknowledged batch is whole and no batch is partial.
func Crash(t *testing.T, testName, dsn string, open func(dsn string) (store.Store, error)) {
	if os.Getenv(crashChildEnv) == "1" {
		crashChild(os.Getenv(crashDSNEnv), open)
		return
	}
	// Create the schema first so the child spends its time writing.
	s, err := open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDSNEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "acked "); ok {
			b, _ := strconv.Atoi(n)
			acked[b] = true
		}
		// Kill at an arbitrary point well into the stream (mid-transaction
		// most of the time), or when the child is too slow.
		if !killed && (len(acked) >= 40 || time.Now().After(deadline)) {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("writer exited on its own after %d batches", len(acked))
	}
	if len(acked) == 0 {
		t.Fatal("writer acknowledged nothing before it was killed")
	}

	s, err = open(dsn)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	res, err := s.Search(context.Background(), &store.Query{Types: []string{"Basic"}, Count: 10000})
	if err != nil {
		t.Fatal(err)
	}
	perBatch := map[int]int{}
	for _, v := range res.Matches {
		b, _ := strconv.Atoi(strings.SplitN(v.ID, "-", 2)[0])
		perBatch[b]++
	}
	for b := range acked {
		if perBatch[b] != crashBatch {
			t.Errorf("acknowledged batch %d has %d of %d resources", b, perBatch[b], crashBatch)
		}
	}
	for b, n := range perBatch {
		if n != crashBatch {
			t.Errorf("batch %d half-applied: %d of %d resources", b, n, crashBatch)
		}
	}
	t.Logf("killed after %d acknowledged batches; %d batches stored", len(acked), len(perBatch))
}

func crashChild(dsn string, open func(dsn string) (store.Store, error)) {
	ctx := context.Background()
	s, err := open(dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	body := []byte(`{"resourceType":"Basic","code":{"text":"` + strings.Repeat("x", 2000) + `"}}`)
	for b := 0; ; b++ {
		tx, err := s.Begin(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		for i := 0; i < crashBatch; i++ {
			w := &store.Write{Type: "Basic", ID: fmt.Sprintf("%d-%d", b, i), VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: body,
				Index: store.Index{Tokens: []store.TokenEntry{{Param: "code", System: "urn:crash", Code: strconv.Itoa(b)}}}}
			if err := tx.Put(ctx, w); err != nil {
				fmt.Fprintln(os.Stderr, "crash child:", err)
				os.Exit(2)
			}
		}
		if err := tx.Commit(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", b) // only after Commit returned
	}
}
