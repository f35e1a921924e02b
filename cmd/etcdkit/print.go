package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/etcdkit/etcdkit/etcd"
)

// errText words an error as etcdctl does: the server's own description ("etcdserver:
// requested lease not found"), the gRPC status for other server errors, "context deadline
// exceeded" for a timeout.
func errText(err error) string {
	var ee *exitErr
	if errors.As(err, &ee) && ee.err != err {
		return errText(ee.err)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded.Error()
	case errors.Is(err, context.Canceled):
		return context.Canceled.Error()
	}
	var e *etcd.Error
	if errors.As(err, &e) {
		if e.Status != nil {
			return statusText(e.Status)
		}
		return strings.TrimPrefix(e.Err.Error(), "etcd: ")
	}
	if st, ok := status.FromError(err); ok && st != nil && errors.As(err, new(interface{ GRPCStatus() *status.Status })) {
		return statusText(st)
	}
	return err.Error()
}

func statusText(st *status.Status) string {
	if strings.HasPrefix(st.Message(), "etcdserver: ") {
		return st.Message()
	}
	return st.Err().Error()
}

// wrapErr keeps err's wording under a prefix: "failed to revoke lease (etcdserver: ...)".
// An authentication failure keeps its own wording (see run).
func wrapErr(code int, prefix string, err error) error {
	if errors.Is(err, etcd.ErrAuthFailed) {
		return err
	}
	return &exitErr{code: code, err: errors.New(prefix + " (" + errText(err) + ")")}
}

// printKV prints a key and its value on two lines, or just the value.
func (a *app) printKV(key, value []byte, valueOnly bool) {
	k, v := string(key), string(value)
	if a.g.hex {
		k, v = hexBytes(key), hexBytes(value)
	}
	if !valueOnly {
		fmt.Fprintln(a.stdout, k)
	}
	fmt.Fprintln(a.stdout, v)
}

func hexBytes(b []byte) string {
	var sb strings.Builder
	h := hex.EncodeToString(b)
	for i := 0; i < len(h); i += 2 {
		sb.WriteString(`\x`)
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// flushWriter passes each write straight through a's buffered stdout, so that a child
// process's output appears as it is written.
type flushWriter struct{ w *bufio.Writer }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}

// printJSON writes v as one line of JSON, as etcdctl's json printer does.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// siBytes formats a size with decimal units, one decimal below 10: "20 kB", "2.1 GB".
func siBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	val := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	format := "%.0f %s"
	if val < 10 {
		format = "%.1f %s"
	}
	return fmt.Sprintf(format, val, units[int(e)])
}
