// Command goalert builds GoAlert's server from the Go module proxy for the e2e testbed.
// It mirrors cmd/goalert/main.go, which cannot be `go install`ed because GoAlert's go.mod has a
// replace directive.
package main

import (
	"os"

	"github.com/target/goalert/app"
	"github.com/target/goalert/util/log"

	_ "time/tzdata"
)

func main() {
	l := log.NewLogger()
	if err := app.RootCmd.ExecuteContext(l.BackgroundContext()); err != nil {
		os.Exit(1)
	}
}
