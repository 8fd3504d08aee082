// registrar registers a CSI driver's node service with the kubelet through the kubelet's plugin
// registration API (pluginregistration v1 "Registration" service on a socket in the kubelet's
// plugins_registry folder), the job node-driver-registrar does in a real cluster. The kubelet
// then calls the driver's NodeGetInfo, creates its CSINode entry and uses it to mount volumes.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type registrar struct {
	registerapi.UnimplementedRegistrationServer

	driverName string
	csiAddress string
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driverName,
		Endpoint:          r.csiAddress,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, status *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if status.GetPluginRegistered() {
		log.Printf("kubelet registered %s (endpoint %s)", r.driverName, r.csiAddress)
	} else {
		log.Printf("kubelet refused %s: %s", r.driverName, status.GetError())
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

func main() {
	driverName := flag.String("driver-name", "", "CSI driver name (as in the CSIDriver object)")
	csiAddress := flag.String("csi-address", "", "path of the driver's CSI socket on this machine")
	regSocket := flag.String("registration-socket", "", "socket to serve, in the kubelet's plugins_registry folder")
	flag.Parse()
	if *driverName == "" || *csiAddress == "" || *regSocket == "" {
		log.Fatal("--driver-name, --csi-address and --registration-socket are required")
	}
	if err := os.MkdirAll(filepath.Dir(*regSocket), 0o750); err != nil {
		log.Fatal(err)
	}
	if err := os.Remove(*regSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatal(err)
	}
	lis, err := net.Listen("unix", *regSocket)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, &registrar{driverName: *driverName, csiAddress: *csiAddress})

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		srv.Stop()
		_ = os.Remove(*regSocket)
	}()
	log.Printf("registration socket for %s at %s (CSI endpoint %s)", *driverName, *regSocket, *csiAddress)
	if err := srv.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
