// Command kstatus prints kstatus's verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status, what Flux
// waits on) for each object of a `kubectl get -o json` list read from stdin: one line per
// object, "<kind>/<name> <status> <message>".
package main

import (
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading stdin:", err)
		os.Exit(2)
	}
	// apimachinery's decoder, as client-go reads objects: whole numbers become int64, which
	// kstatus needs for metadata.generation and observedGeneration.
	var list unstructured.UnstructuredList
	if err := list.UnmarshalJSON(data); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading a list of objects from stdin:", err)
		os.Exit(2)
	}
	for i := range list.Items {
		object := &list.Items[i]
		result, err := status.Compute(object)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", object.GetKind(), object.GetName(), err)
			os.Exit(1)
		}
		fmt.Printf("%s/%s %s %s\n", object.GetKind(), object.GetName(), result.Status, result.Message)
	}
}
