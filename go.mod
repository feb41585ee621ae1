module github.com/staa-dev/staa

go 1.26

require (
	github.com/apache/arrow-go/v18 v18.8.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)
