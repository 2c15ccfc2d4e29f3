// The README tour through a Go client generated from the API's OpenAPI document by oapi-codegen, as a
// service would write it: register a source, wait for it to stream, declare a view, query it with filters
// page by page (cursor), and read the error of a 409. Run by api/e2e/generated-clients.e2e.test.ts, which
// generates the package `mesh` beside a copy of this file in a module of its own. Prints one JSON line.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"tour/mesh"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func until(what string, ok func() bool) {
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			must(fmt.Errorf("timed out waiting for %s", what))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func main() {
	ctx := context.Background()
	apiURL, dbURL, source, view := os.Getenv("API_URL"), os.Getenv("DB_URL"), os.Getenv("SOURCE"), os.Getenv("VIEW")
	// Every route needs a token (README "Tokens and access"): sent as Authorization: Bearer.
	token := os.Getenv("MESH_TOKEN")
	client, err := mesh.NewClientWithResponses(apiURL, mesh.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	must(err)

	// The body is one of the registrations (Postgres, MySQL): a union type with a From method per kind.
	// Owner is optional: a service token registers as its own service; the admin token names one.
	owner := "tour"
	var registration mesh.SourceRegistration
	must(registration.FromPostgresSourceRegistration(mesh.PostgresSourceRegistration{
		Name:   source,
		Owner:  &owner,
		Kind:   mesh.PostgresSourceRegistrationKindPostgres,
		Url:    dbURL,
		Tables: []string{"public.orders"},
	}))
	registered, err := client.RegisterSourceWithResponse(ctx, registration)
	must(err)
	if registered.JSON201 == nil {
		must(fmt.Errorf("register: %d %s", registered.StatusCode(), registered.Body))
	}

	until("the source to stream", func() bool {
		got, err := client.GetSourceWithResponse(ctx, source)
		return err == nil && got.JSON200 != nil && got.JSON200.Status.State == mesh.SourceStatusStateStreaming
	})

	sql := fmt.Sprintf("CREATE VIEW %s AS SELECT o.id, o.status, o.total FROM %s.public.orders o", view, source)
	declared, err := client.CreateViewWithResponse(ctx, mesh.CreateViewJSONRequestBody{Sql: sql})
	must(err)
	if declared.JSON201 == nil {
		must(fmt.Errorf("declare: %d %s", declared.StatusCode(), declared.Body))
	}
	until("the view to be ready", func() bool {
		got, err := client.GetViewWithResponse(ctx, view)
		return err == nil && got.JSON200 != nil && got.JSON200.Status.State == mesh.ViewStatusStateReady
	})

	filters := map[string]string{"status": "paid", "total[gte]": "40"}
	limit := 2
	ids := []interface{}{}
	pages := 0
	var cursor *string
	for {
		page, err := client.QueryRowsWithResponse(ctx, view, &mesh.QueryRowsParams{Filters: &filters, Limit: &limit, Cursor: cursor})
		must(err)
		if page.JSON200 == nil {
			must(fmt.Errorf("rows: %d %s", page.StatusCode(), page.Body))
		}
		pages++
		for _, row := range page.JSON200.Rows {
			ids = append(ids, row["id"])
		}
		cursor = page.JSON200.Next
		if cursor == nil {
			break
		}
	}

	again, err := client.RegisterSourceWithResponse(ctx, registration)
	must(err)
	conflict := map[string]interface{}{"status": again.StatusCode()}
	if again.JSON409 != nil {
		conflict["code"] = again.JSON409.Code
		conflict["message"] = again.JSON409.Message
	}
	out, err := json.Marshal(map[string]interface{}{"ids": ids, "pages": pages, "conflict": conflict})
	must(err)
	fmt.Println(string(out))
}
