package server

import "embed"

// runners holds the Python start-up scripts for servers launched through
// their API rather than a command line, written into the launch directory.
//
//go:embed runners/*.py
var runners embed.FS
