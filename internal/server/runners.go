package server

import "embed"

// runners holds the Python start-up scripts for servers launched through
// their API rather than a command line, written into the launch directory.
//
//go:embed runners/*.py
var runners embed.FS

// Bridge is the source of the WSGI-to-ASGI bridge hypercorn is measured
// through, for deploy configs that must ship exactly what was measured.
func Bridge() []byte {
	b, err := runners.ReadFile("runners/wsgibench_asgi_bridge.py")
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return b
}
