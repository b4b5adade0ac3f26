module example.com/demo/service

go 1.20

toolchain go1.20.1

require (
	github.com/gin-gonic/gin v1.5.0
	golang.org/x/net v0.7.0 // indirect
	golang.org/x/text v0.3.7 // indirect
)
