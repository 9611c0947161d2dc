package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// envReads caches scanEnvReads: go list takes seconds on a busy machine.
func envReads(t *testing.T) (names map[string]bool, dynamic []string) {
	t.Helper()
	envOnce.Do(func() { envNames, envDynamic, envErr = scanEnvReads() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return envNames, envDynamic
}

var (
	envOnce    sync.Once
	envNames   map[string]bool
	envDynamic []string
	envErr     error
)

// scanEnvReads returns every environment variable the binary's own code reads,
// from its source: the literal names given to os.Getenv and os.LookupEnv in
// any of the module's packages linked into the binary, and to the envFlags
// methods here. A read of a name that is not a literal (outside envFlags,
// which passes its parameter on) is returned in dynamic: this test could
// not tell what it reads.
func scanEnvReads() (names map[string]bool, dynamic []string, err error) {
	out, err := exec.Command("go", "list", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{"\t"}}{{join .GoFiles " "}}{{end}}{{end}}`, ".").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list: %v", err)
	}
	// envFlags' methods take the variable's name as a literal argument.
	efMethods := map[string]bool{}
	fset := token.NewFileSet()
	mainFile, err := parser.ParseFile(fset, "main.go", nil, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range mainFile.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && len(fd.Recv.List) == 1 {
			if star, ok := fd.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "envFlags" {
					efMethods[fd.Name.Name] = true
				}
			}
		}
	}
	envName := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	names = map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, files, _ := strings.Cut(line, "\t")
		for _, name := range strings.Fields(files) {
			path := filepath.Join(dir, name)
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return nil, nil, err
			}
			isMain := f.Name.Name == "main"
			ast.Inspect(f, func(n ast.Node) bool {
				// envFlags' own bodies read their parameter: skip them.
				if fd, ok := n.(*ast.FuncDecl); ok && isMain && fd.Recv != nil && efMethods[fd.Name.Name] {
					return false
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, _ := sel.X.(*ast.Ident)
				osRead := pkg != nil && pkg.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv")
				switch {
				case osRead:
					lit, ok := call.Args[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						dynamic = append(dynamic, fset.Position(call.Pos()).String())
						return true
					}
					v, _ := strconv.Unquote(lit.Value)
					names[v] = true
				case isMain && efMethods[sel.Sel.Name]:
					for _, a := range call.Args {
						if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, _ := strconv.Unquote(lit.Value); envName.MatchString(v) {
								names[v] = true
							}
						}
					}
				}
				return true
			})
		}
	}
	return names, dynamic, nil
}

// deploy/portal.env.example and -h list every environment variable the
// binary reads, as its source reads them (issue 15): a variable added to
// the code and not to the example fails here.
func TestEnvExampleListsEveryVariableTheSourceReads(t *testing.T) {
	names, dynamic := envReads(t)
	for _, at := range dynamic {
		t.Errorf("%s: environment read of a name that is not a literal; name it, so the example can list it", at)
	}
	if len(names) < 30 {
		t.Fatalf("found only %d variables in the source: %v", len(names), names)
	}
	example, err := os.ReadFile("deploy/portal.env.example")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, help bytes.Buffer
	if err := run([]string{"-h"}, &stdout, &help); err != nil {
		t.Fatal(err)
	}
	for v := range names {
		if !regexp.MustCompile(`(?m)^#? ?` + v + `=`).Match(example) {
			t.Errorf("deploy/portal.env.example lacks %s, which the binary reads", v)
		}
		if !regexp.MustCompile(`\b` + v + `\b`).Match(help.Bytes()) {
			t.Errorf("portal -h lacks %s, which the binary reads", v)
		}
	}
	// And the example names nothing the binary ignores.
	for _, m := range regexp.MustCompile(`(?m)^#? ?([A-Z][A-Z0-9_]+)=`).FindAllSubmatch(example, -1) {
		if !names[string(m[1])] {
			t.Errorf("deploy/portal.env.example lists %s, which the binary does not read", m[1])
		}
	}
}
