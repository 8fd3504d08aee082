// csi-zfslike is the test cluster's ZFS-LocalPV look-alike CSI driver (zfs-localpv 2.6 rules, see
// test/cluster/README.md): volumes and snapshots live on one node (topology key
// openebs.io/nodeid); a snapshot is O(1) and never changes; a clone is O(1) copy-on-write (an
// overlay with the snapshot's frozen layers as read-only lowers); a clone must request exactly its
// snapshot's size; a snapshot with a live clone cannot be destroyed (DeleteSnapshot answers OK and
// the destroy is retried in the background); deleting a volume destroys its snapshots, and fails
// while one of them has a clone.
//
// State under --state-dir: state.json (datasets, snapshots, origins, pending destroys, publishes,
// layer reference counts, recent operations with durations), layers/<id>/ (data), work/, mnt/,
// trash/ (folders the pool no longer refers to, removed in the background).
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

const version = "0.1.0"

func main() {
	endpoint := flag.String("endpoint", "unix:///tmp/csi-zfslike.sock", "CSI endpoint (unix://path)")
	name := flag.String("drivername", "zfs.csi.openebs.io", "CSI driver name")
	nodeID := flag.String("nodeid", "", "this node's id (NodeGetInfo, topology openebs.io/nodeid)")
	nodes := flag.String("nodes", "", "comma-separated nodes that have a pool (default: --nodeid)")
	stateDir := flag.String("state-dir", "/tmp/csi-zfslike", "folder for the pool's layers and state.json")
	retry := flag.Duration("retry-interval", 5*time.Second, "how often pending snapshot destroys are retried")
	flag.Parse()
	if *nodeID == "" {
		log.Fatal("--nodeid is required")
	}
	pool, err := OpenPool(*stateDir)
	if err != nil {
		log.Fatal(err)
	}
	d := &driver{name: *name, nodeID: *nodeID, nodes: []string{*nodeID}, pool: pool}
	if *nodes != "" {
		d.nodes = strings.Split(*nodes, ",")
	}

	sock := strings.TrimPrefix(*endpoint, "unix://")
	_ = os.Remove(sock)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			log.Printf("%s: %v", info.FullMethod, err)
		}
		return resp, err
	}))
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)

	// zfs-localpv's agent keeps retrying a refused snapshot destroy (rate-limited, 30 s resync).
	go func() {
		for range time.Tick(*retry) {
			pool.RetryPending()
		}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; srv.GracefulStop() }()
	log.Printf("%s %s (zfs-like) serving on %s, node %s, state in %s", *name, version, sock, *nodeID, *stateDir)
	if err := srv.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
