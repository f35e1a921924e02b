package main

import (
	"context"
	"fmt"

	"github.com/etcdkit/etcdkit/etcd"
)

// downgrade validate|enable|cancel: a cluster's downgrade to the previous minor version.

func init() {
	register(&command{path: "downgrade validate", use: "downgrade validate <TARGET_VERSION>",
		short: "Validate downgrade capability before starting downgrade", define: noFlags(downgradeRun("validate")), formats: "protobuf"})
	register(&command{path: "downgrade enable", use: "downgrade enable <TARGET_VERSION>",
		short: "Start a downgrade action to cluster", define: noFlags(downgradeRun("enable")), formats: "protobuf"})
	register(&command{path: "downgrade cancel", use: "downgrade cancel",
		short: "Cancel the ongoing downgrade action to cluster", define: noFlags(downgradeRun("cancel")), formats: "protobuf"})
}

// downgradeRun runs one downgrade action. As etcdctl's, cancel ignores its arguments.
func downgradeRun(action string) runFunc {
	return func(a *app, args []string) error {
		var version string
		if action != "cancel" {
			switch {
			case len(args) < 1:
				return fail(exitBadArgs, "TARGET_VERSION not provided")
			case len(args) > 1:
				return fail(exitBadArgs, "too many arguments")
			case args[0] == "":
				return fail(exitBadArgs, "target version not provided")
			}
			version = args[0]
		}
		return a.call(func(ctx context.Context, c *etcd.Client) error {
			var res etcd.DowngradeResult
			var err error
			switch action {
			case "validate":
				res, err = c.DowngradeValidate(ctx, version)
			case "enable":
				res, err = c.DowngradeEnable(ctx, version)
			default:
				res, err = c.DowngradeCancel(ctx)
			}
			if err != nil {
				return err
			}
			switch a.g.writeOut {
			case "json":
				return printJSON(a.stdout, struct {
					Header  *jsonHeader `json:"header,omitempty"`
					Version string      `json:"version,omitempty"`
				}{headerJSON(res.Header), res.ClusterVersion})
			case "protobuf":
				// DowngradeResponse: header = 1, version = 2.
				_, err := a.stdout.Write(pbBytes(pbHeader(res.Header), 2, []byte(res.ClusterVersion)))
				return err
			}
			fmt.Fprintf(a.stdout, "Downgrade %s success, cluster version %s\n", action, res.ClusterVersion)
			return nil
		})
	}
}
