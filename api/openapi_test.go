package api

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// Every handler that this package's tests build validates each of its responses
// against the OpenAPI document it serves; TestMain fails the run when one does not
// conform.
var (
	validationMu     sync.Mutex
	validationErrors []string
	validated        int
)

func TestMain(m *testing.M) {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	wrapHandler = validatingHandler
	code := m.Run()
	validationMu.Lock()
	if len(validationErrors) > 0 {
		fmt.Fprintf(os.Stderr, "%d responses do not conform to the OpenAPI document:\n", len(validationErrors))
		for _, e := range validationErrors[:min(len(validationErrors), 30)] {
			fmt.Fprintln(os.Stderr, "  "+e)
		}
		code = 1
	}
	validationMu.Unlock()
	os.Exit(code)
}

type validator struct {
	next   http.Handler
	router routers.Router
}

func validatingHandler(h http.Handler, doc []byte) http.Handler {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		panic("api: the OpenAPI document does not load: " + err.Error())
	}
	r, err := legacy.NewRouter(t)
	if err != nil {
		panic("api: the OpenAPI document is not valid: " + err.Error())
	}
	return &validator{next: h, router: r}
}

func (v *validator) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	rec := httptest.NewRecorder()
	v.next.ServeHTTP(rec, req)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	v.check(req, rec)
}

func (v *validator) fail(req *http.Request, format string, args ...any) {
	validationMu.Lock()
	validationErrors = append(validationErrors, req.Method+" "+req.URL.String()+": "+fmt.Sprintf(format, args...))
	validationMu.Unlock()
}

// check validates one exchange: a documented route's answer against its operation
// (its success schema, or the error schema for any other status); an answer on an
// undocumented path or method must be a JSON error (404 or 405).
func (v *validator) check(req *http.Request, rec *httptest.ResponseRecorder) {
	if req.Method == http.MethodHead || req.Context().Err() != nil {
		return // no body, or a client that has gone and gets none
	}
	validationMu.Lock()
	validated++
	validationMu.Unlock()
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host = "http", "localhost"
	if probe.Host == "" {
		probe.Host = "localhost"
	}
	route, params, err := v.router.FindRoute(probe)
	if err != nil {
		if rec.Code/100 == 3 {
			return // the mux redirecting to the clean path
		}
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusBadRequest {
			v.fail(req, "undocumented route answered %d", rec.Code)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			v.fail(req, "error answer is not JSON: %q", rec.Header().Get("Content-Type"))
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		v.fail(req, "status %d: %v", rec.Code, err)
	}
}

// fullHandler has every capability the package offers.
func fullHandler(t *testing.T) http.Handler {
	t.Helper()
	reg := prometheus.NewRegistry()
	return NewHandler(WithStats(testBackend(), &fakeStats{}), reg)
}

// TestOpenAPIDocument loads the served document with kin-openapi, validates it, and
// checks that every operation it lists is served and has a summary.
func TestOpenAPIDocument(t *testing.T) {
	h := fullHandler(t)
	code, hdr, body := do(t, h, "GET", "/api/v1/openapi.json")
	require.Equal(t, 200, code)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			require.NotEmpty(t, op.Summary, "%s %s has no summary", method, path)
			target := strings.ReplaceAll(path, "{id}", "1")
			req := httptest.NewRequest(method, target, strings.NewReader(`{"strategy":"mcps"}`))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			served := rec.Code != 405 && (rec.Code != 404 || !strings.Contains(rec.Body.String(), "no such endpoint"))
			require.True(t, served, "%s %s is documented but not served (%d %s)", method, path, rec.Code, rec.Body.String())
		}
	}
	for _, r := range Routes(h) {
		require.True(t, documented[r[0]+" "+openAPIPath(r[1])], "%s %s is served but not documented", r[0], r[1])
	}
}

// TestEveryRouteIsDescribed fails when code in this package registers a route on the
// mux directly instead of through routes.handle, which records its description: the
// only direct registrations allowed are handle's own 405 fallback and the 404
// catch-all.
func TestEveryRouteIsDescribed(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			inner, ok := sel.X.(*ast.SelectorExpr)
			if !ok || inner.Sel.Name != "mux" {
				return true
			}
			pos := fset.Position(call.Pos())
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Value == `"/"` {
				return true // the 404 catch-all
			}
			if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "path" && name == "handler.go" {
				return true // handle's 405 fallback for the path it registers
			}
			if b, ok := call.Args[0].(*ast.BinaryExpr); ok && name == "handler.go" {
				x := b.X
				for {
					inner, ok := x.(*ast.BinaryExpr)
					if !ok {
						break
					}
					x = inner.X
				}
				if l, ok := x.(*ast.Ident); ok && l.Name == "method" {
					return true // handle itself
				}
			}
			t.Errorf("%s: a route registered on the mux without its description; use routes.get or routes.handle", pos)
			return true
		})
	}
}

// TestResponsesValidated makes sure the validation of every response is on: a
// request through any handler of this package's tests is checked.
func TestResponsesValidated(t *testing.T) {
	validationMu.Lock()
	before := validated
	validationMu.Unlock()
	do(t, fullHandler(t), "GET", "/api/v1/switches")
	validationMu.Lock()
	defer validationMu.Unlock()
	require.Equal(t, before+1, validated)
}
