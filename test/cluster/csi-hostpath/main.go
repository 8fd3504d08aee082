// csi-hostpath is the test cluster's host-path CSI driver: every volume is a folder, a snapshot is a
// tar archive of that folder, and a volume created from a snapshot (or cloned from a volume) really
// gets a copy of the data. It plays the role of kubernetes-csi/csi-driver-host-path (whose Go module
// the module proxy does not serve) for the controller side, plus a minimal node side (bind mounts)
// for a real kubelet. Like zfs-localpv, it refuses a volume from a snapshot whose requested size
// differs from the snapshot's ("clone volume size is not matching").
//
// Layout under --state-dir:
//
//	volumes/<volume-id>/          the volume's data (volume id = CSI volume name, e.g. pvc-<uid>)
//	volumes/<volume-id>.json      metadata (capacity, source)
//	snapshots/<snapshot-id>.tar   snapshot archive (snapshot id = CSI snapshot name)
//	snapshots/<snapshot-id>.json  metadata (source volume, size, creation time)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const version = "0.1.0"

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	name     string
	nodeID   string
	stateDir string
	mu       sync.Mutex
}

type volumeMeta struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Capacity     int64  `json:"capacity"`
	FromVolume   string `json:"fromVolume,omitempty"`
	FromSnapshot string `json:"fromSnapshot,omitempty"`
}

type snapshotMeta struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	SourceVolume string `json:"sourceVolume"`
	Size         int64  `json:"size"`
	CreatedUnix  int64  `json:"createdUnix"`
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

func (d *driver) volDir(id string) string  { return filepath.Join(d.stateDir, "volumes", id) }
func (d *driver) volMeta(id string) string { return filepath.Join(d.stateDir, "volumes", id+".json") }
func (d *driver) snapTar(id string) string { return filepath.Join(d.stateDir, "snapshots", id+".tar") }
func (d *driver) snapMeta(id string) string {
	return filepath.Join(d.stateDir, "snapshots", id+".json")
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ---- Identity ----

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: version}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}},
	}}}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// ---- Controller ----

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	name := req.GetName()
	if !safeID.MatchString(name) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid volume name %q", name)
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	for _, c := range req.GetVolumeCapabilities() {
		if c.GetBlock() != nil {
			return nil, status.Error(codes.InvalidArgument, "block volumes are not supported")
		}
	}
	capacity := req.GetCapacityRange().GetRequiredBytes()
	d.mu.Lock()
	defer d.mu.Unlock()

	id := name
	var existing volumeMeta
	if err := readJSON(d.volMeta(id), &existing); err == nil {
		if existing.Capacity < capacity {
			return nil, status.Errorf(codes.AlreadyExists, "volume %s exists with smaller capacity", id)
		}
		return d.volumeResponse(existing, req.GetVolumeContentSource()), nil
	}

	meta := volumeMeta{ID: id, Name: name, Capacity: capacity}
	dir := d.volDir(id)
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	_ = os.Chmod(dir, 0o777)
	if src := req.GetVolumeContentSource(); src != nil {
		switch {
		case src.GetSnapshot() != nil:
			sid := src.GetSnapshot().GetSnapshotId()
			var sm snapshotMeta
			if !safeID.MatchString(sid) || readJSON(d.snapMeta(sid), &sm) != nil {
				_ = os.RemoveAll(dir)
				return nil, status.Errorf(codes.NotFound, "snapshot %s not found", sid)
			}
			// Like zfs-localpv (a clone has its snapshot's size): any other requested size is refused.
			if capacity != 0 && capacity != sm.Size {
				_ = os.RemoveAll(dir)
				return nil, status.Errorf(codes.InvalidArgument, "clone volume size is not matching: requested %d bytes, snapshot %s has %d", capacity, sid, sm.Size)
			}
			capacity = sm.Size
			meta.Capacity = capacity
			if err := run("tar", "-C", dir, "-xf", d.snapTar(sid)); err != nil {
				_ = os.RemoveAll(dir)
				return nil, status.Error(codes.Internal, err.Error())
			}
			meta.FromSnapshot = sid
		case src.GetVolume() != nil:
			vid := src.GetVolume().GetVolumeId()
			var vm volumeMeta
			if !safeID.MatchString(vid) || readJSON(d.volMeta(vid), &vm) != nil {
				_ = os.RemoveAll(dir)
				return nil, status.Errorf(codes.NotFound, "volume %s not found", vid)
			}
			if err := run("cp", "-a", d.volDir(vid)+"/.", dir+"/"); err != nil {
				_ = os.RemoveAll(dir)
				return nil, status.Error(codes.Internal, err.Error())
			}
			meta.FromVolume = vid
		}
	}
	if err := writeJSON(d.volMeta(id), meta); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	log.Printf("CreateVolume %s capacity=%d fromSnapshot=%q fromVolume=%q", id, meta.Capacity, meta.FromSnapshot, meta.FromVolume)
	return d.volumeResponse(meta, req.GetVolumeContentSource()), nil
}

func (d *driver) volumeResponse(m volumeMeta, src *csi.VolumeContentSource) *csi.CreateVolumeResponse {
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      m.ID,
		CapacityBytes: m.Capacity,
		VolumeContext: map[string]string{"hostPath": d.volDir(m.ID)},
		ContentSource: src,
	}}
}

func (d *driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if !safeID.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid volume id %q", id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.RemoveAll(d.volDir(id)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	_ = os.Remove(d.volMeta(id))
	log.Printf("DeleteVolume %s", id)
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if _, err := os.Stat(d.volMeta(req.GetVolumeId())); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	for _, c := range req.GetVolumeCapabilities() {
		if c.GetBlock() != nil {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: "block volumes are not supported"}, nil
		}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext: req.GetVolumeContext(), VolumeCapabilities: req.GetVolumeCapabilities(), Parameters: req.GetParameters(),
	}}, nil
}

func (d *driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, src := req.GetName(), req.GetSourceVolumeId()
	if !safeID.MatchString(name) || !safeID.MatchString(src) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid snapshot name %q or source %q", name, src)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var existing snapshotMeta
	if err := readJSON(d.snapMeta(name), &existing); err == nil {
		if existing.SourceVolume != src {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists for another volume", name)
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(existing)}, nil
	}
	var vm volumeMeta
	if err := readJSON(d.volMeta(src), &vm); err != nil {
		return nil, status.Errorf(codes.NotFound, "source volume %s not found", src)
	}
	if err := os.MkdirAll(filepath.Join(d.stateDir, "snapshots"), 0o755); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	tmp := d.snapTar(name) + ".tmp"
	if err := run("tar", "-C", d.volDir(src), "-cf", tmp, "."); err != nil {
		_ = os.Remove(tmp)
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := os.Rename(tmp, d.snapTar(name)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	sm := snapshotMeta{ID: name, Name: name, SourceVolume: src, Size: vm.Capacity, CreatedUnix: time.Now().Unix()}
	if err := writeJSON(d.snapMeta(name), sm); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	log.Printf("CreateSnapshot %s of %s", name, src)
	return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(sm)}, nil
}

func snapshotOf(m snapshotMeta) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId: m.ID, SourceVolumeId: m.SourceVolume, SizeBytes: m.Size,
		CreationTime: timestamppb.New(time.Unix(m.CreatedUnix, 0)), ReadyToUse: true,
	}
}

func (d *driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if !safeID.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid snapshot id %q", id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = os.Remove(d.snapTar(id))
	_ = os.Remove(d.snapMeta(id))
	log.Printf("DeleteSnapshot %s", id)
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(d.stateDir, "snapshots", "*.json"))
	sort.Strings(files)
	var entries []*csi.ListSnapshotsResponse_Entry
	for _, f := range files {
		var m snapshotMeta
		if readJSON(f, &m) != nil {
			continue
		}
		if req.GetSnapshotId() != "" && req.GetSnapshotId() != m.ID {
			continue
		}
		if req.GetSourceVolumeId() != "" && req.GetSourceVolumeId() != m.SourceVolume {
			continue
		}
		entries = append(entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotOf(m)})
	}
	return &csi.ListSnapshotsResponse{Entries: entries}, nil
}

// ---- Node (bind mounts of the volume folder; used with a real kubelet) ----

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: d.nodeID}, nil
}

func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func (d *driver) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if !safeID.MatchString(id) || target == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id and target path are required")
	}
	if _, err := os.Stat(d.volDir(id)); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", id)
	}
	if mounted(target) {
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := syscall.Mount(d.volDir(id), target, "", syscall.MS_BIND, ""); err != nil {
		return nil, status.Errorf(codes.Internal, "bind mount %s: %v", target, err)
	}
	if req.GetReadonly() {
		if err := syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			_ = syscall.Unmount(target, 0)
			return nil, status.Errorf(codes.Internal, "read-only remount %s: %v", target, err)
		}
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (d *driver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	}
	if mounted(target) {
		if err := syscall.Unmount(target, 0); err != nil {
			return nil, status.Errorf(codes.Internal, "unmount %s: %v", target, err)
		}
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func mounted(path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	clean := filepath.Clean(path)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == clean {
			return true
		}
	}
	return false
}

func main() {
	endpoint := flag.String("endpoint", "unix:///tmp/csi-hostpath.sock", "CSI endpoint (unix://path)")
	name := flag.String("drivername", "hostpath.csi.k8s.io", "CSI driver name")
	nodeID := flag.String("nodeid", "", "node id reported by NodeGetInfo")
	stateDir := flag.String("state-dir", "/tmp/csi-hostpath", "folder for volumes and snapshots")
	flag.Parse()

	d := &driver{name: *name, nodeID: *nodeID, stateDir: *stateDir}
	for _, sub := range []string{"volumes", "snapshots"} {
		if err := os.MkdirAll(filepath.Join(*stateDir, sub), 0o755); err != nil {
			log.Fatal(err)
		}
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

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; srv.GracefulStop() }()
	log.Printf("%s %s serving on %s, state in %s", *name, version, sock, *stateDir)
	if err := srv.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
