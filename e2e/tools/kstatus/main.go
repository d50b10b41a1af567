// Command kstatus prints kstatus's verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status, what Flux
// waits on) for each object of a `kubectl get -o json` list read from stdin: one line per
// object, "<kind>/<name> <status> <message>".
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	var list struct {
		Items []map[string]interface{} `json:"items"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&list); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading a list of objects from stdin:", err)
		os.Exit(2)
	}
	for _, item := range list.Items {
		object := &unstructured.Unstructured{Object: item}
		result, err := status.Compute(object)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", object.GetKind(), object.GetName(), err)
			os.Exit(1)
		}
		fmt.Printf("%s/%s %s %s\n", object.GetKind(), object.GetName(), result.Status, result.Message)
	}
}
