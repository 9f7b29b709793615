package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Op describes one operation of the API for its OpenAPI document. Every route is
// registered with its Op (see routes.get and routes.handle), so the document served at
// /api/v1/openapi.json lists exactly the routes the handler serves, with request and
// response schemas derived from the Go types that the handlers encode.
type Op struct {
	Summary string
	// Query lists the query parameters the operation accepts; any other is refused
	// with 400.
	Query []Param
	// Body is a value of the request body's type (nil: no body).
	Body any
	// Response is a value of the success body's type (nil: no JSON body).
	Response any
	// Status is the success status; default 200.
	Status int
	// ContentType is the success body's media type; default application/json.
	ContentType string
	// Auth says the operation needs the bearer token when one is configured.
	Auth bool
	// Headers lists the response headers the operation may set (string values).
	Headers []Param

	list bool // a paged, streamed, bounded list (see listOp)
}

// Param is one query parameter.
type Param struct {
	Name        string
	Description string
	// Type is the JSON schema type of its value: string (default) or integer.
	Type string
}

// route is one registered operation.
type route struct {
	method, path string
	op           Op
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)\}`)

// openAPIPath turns a ServeMux pattern path into an OpenAPI path ("/{$}" is "/").
func openAPIPath(p string) string {
	if p == "/{$}" {
		return "/"
	}
	return strings.ReplaceAll(p, "{$}", "")
}

// document builds the OpenAPI 3.0 document of the registered routes.
func document(rs []route) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	errRef := g.schema(reflect.TypeOf(Error{}))
	paths := map[string]map[string]any{}
	for _, r := range rs {
		p := openAPIPath(r.path)
		item := paths[p]
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range r.op.Query {
			typ := q.Type
			if typ == "" {
				typ = "string"
			}
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description,
				"schema": map[string]any{"type": typ}})
		}
		status := r.op.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if r.op.Response != nil || r.op.ContentType != "" {
			ct := r.op.ContentType
			if ct == "" {
				ct = "application/json"
			}
			var sch any = map[string]any{"type": "string"}
			if r.op.Response != nil {
				sch = g.top(reflect.TypeOf(r.op.Response))
			}
			ok["content"] = map[string]any{ct: map[string]any{"schema": sch}}
		}
		if len(r.op.Headers) > 0 {
			hs := map[string]any{}
			for _, h := range r.op.Headers {
				hs[h.Name] = map[string]any{"description": h.Description, "schema": map[string]any{"type": "string"}}
			}
			ok["headers"] = hs
		}
		op := map[string]any{
			"summary":     r.op.Summary,
			"operationId": strings.ToLower(r.method) + strings.NewReplacer("/", "_", "{", "", "}", "", "$", "", "-", "_").Replace(p),
			"responses": map[string]any{
				strconv.Itoa(status): ok,
				"default": map[string]any{"description": "an error: 4xx for a bad request, 5xx for trouble on the server",
					"content": map[string]any{"application/json": map[string]any{"schema": errRef}}},
			},
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.op.Body != nil {
			op["requestBody"] = map[string]any{"required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.op.Body))}}}
		}
		if r.op.Auth {
			op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{}}
		}
		item[strings.ToLower(r.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "cemon", "version": "1",
			"description": "cemon's REST API: the network, its flows and their statistics, and the polling scheme that collects them."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

// serveDocument answers GET /api/v1/openapi.json.
func serveDocument(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(doc)))
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(doc)
	}
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("api: the OpenAPI document does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// schemaGen derives JSON schemas from Go types the way encoding/json encodes them;
// named struct types become components.
type schemaGen struct {
	defs map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

// top is the schema of a whole response body: a top-level list is never null.
func (g *schemaGen) top(t reflect.Type) any {
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	}
	return g.schema(t)
}

func (g *schemaGen) schema(t reflect.Type) any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		s := g.schema(t.Elem())
		if ref, ok := s.(map[string]any)["$ref"]; ok {
			return map[string]any{"allOf": []any{map[string]any{"$ref": ref}}, "nullable": true}
		}
		out := map[string]any{"nullable": true}
		for k, v := range s.(map[string]any) {
			out[k] = v
		}
		return out
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem()), "nullable": t.Kind() == reflect.Slice}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem()), "nullable": true}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{} // interfaces: any value
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	slices.Sort(required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		if doc := f.Tag.Get("doc"); doc != "" {
			if m, ok := s.(map[string]any); ok {
				if _, ref := m["$ref"]; !ref {
					m["description"] = doc
				}
			}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
