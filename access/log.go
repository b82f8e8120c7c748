package access

import (
	"context"
	"log/slog"
)

// LogRecorder writes each decision as one structured log record under the
// message "audit", at Info level for denials and Debug for grants, so the
// trail can be shipped and searched like any log. It never blocks on
// storage beyond the logger's own handler.
type LogRecorder struct {
	log *slog.Logger
}

// NewLogRecorder returns a recorder writing to log.
func NewLogRecorder(log *slog.Logger) *LogRecorder { return &LogRecorder{log: log} }

// Record implements Recorder.
func (l *LogRecorder) Record(e Event) {
	level := slog.LevelDebug
	if !e.Allowed {
		level = slog.LevelInfo
	}
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	r := e.Request
	l.log.LogAttrs(context.Background(), level, "audit",
		slog.Bool("allowed", e.Allowed),
		slog.String("action", string(r.Action)),
		slog.String("type", r.ResourceType),
		slog.String("id", r.ID),
		slog.String("subject", r.Principal.Subject),
		slog.String("role", r.Principal.Role),
		slog.String("org", r.Principal.Organization),
		slog.String("source", r.Source),
		slog.String("reason", e.Reason),
	)
}
