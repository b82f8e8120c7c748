package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/server"
)

const keysUsage = `Usage: xietong health-card-keys list|rotate|retire KID [--db DSN] [--health-card-keys FILE]

Manages the Ed25519 keys that sign e-health card codes (decision 007).
list prints the key ids, the active one marked; rotate adds a key that
signs from the next start of the server on (older keys keep verifying);
retire KID removes a key that is not the active one (codes it signed stop
verifying). The file is the one the server uses: --health-card-keys, else
next to the SQLite database given by --db. Restart the server after a
change; terminals fetch the new key set from /.well-known/health-card-keys.

`

// runKeys implements "xietong health-card-keys".
func runKeys(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	verb, rest, kid := args[0], args[1:], ""
	if verb == "retire" && len(rest) > 0 && !isKeysFlag(rest[0]) {
		// The KID may come before the flags. Key ids are base64url, so one
		// may start with "-": only the command's own flags count as flags.
		kid, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("health-card-keys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database whose key file is meant (env XIETONG_DB)")
	file := fs.String("health-card-keys", envOr("XIETONG_HEALTH_CARD_KEYS", ""), "the key file (env XIETONG_HEALTH_CARD_KEYS)")
	if err := fs.Parse(rest); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	path := *file
	if path == "" {
		path = server.HealthCardKeysPath(*db)
	}
	kr, err := healthcard.LoadKeyring(path)
	if err != nil {
		fmt.Fprintf(stderr, "xietong health-card-keys: %v\n", err)
		return 1
	}
	switch {
	case verb == "list" && fs.NArg() == 0:
	case verb == "rotate" && fs.NArg() == 0:
		kid, err := kr.Rotate()
		if err != nil {
			fmt.Fprintf(stderr, "xietong health-card-keys: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "new active key %s\n", kid)
	case verb == "retire" && (kid == "") == (fs.NArg() == 1) && fs.NArg() <= 1:
		if kid == "" {
			kid = fs.Arg(0)
		}
		if err := kr.Retire(kid); err != nil {
			fmt.Fprintf(stderr, "xietong health-card-keys: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "retired %s\n", kid)
	default:
		fs.Usage()
		return 2
	}
	fmt.Fprintf(stdout, "%s:\n", path)
	for _, kid := range kr.KeyIDs() {
		mark := ""
		if kid == kr.ActiveKeyID() {
			mark = " (active)"
		}
		fmt.Fprintf(stdout, "  %s%s\n", kid, mark)
	}
	return 0
}

// isKeysFlag tells whether arg is one of health-card-keys' own flags
// (-db, --health-card-keys=FILE, -h ...), as opposed to a key id.
func isKeysFlag(arg string) bool {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	name, _, _ = strings.Cut(name, "=")
	switch name {
	case "db", "health-card-keys", "h", "help":
		return true
	}
	return false
}
