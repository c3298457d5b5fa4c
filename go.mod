module github.com/wsgibench/wsgibench

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	golang.org/x/sys v0.50.0
)

require github.com/yuin/goldmark v1.8.7
