package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"regexp"
	"sort"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TopologyKey is zfs-localpv's node topology key: PVs get node affinity on it.
const TopologyKey = "openebs.io/nodeid"

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

var (
	safeName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)
	safeSnapshot = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}@[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)
)

// roundedCapacity rounds like zfs-localpv: up to whole GiB above 1 GiB, up to whole MiB below.
func roundedCapacity(n int64) int64 {
	if n > gib {
		return (n + gib - 1) / gib * gib
	}
	return (n + mib - 1) / mib * mib
}

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	name   string
	nodeID string
	// nodes are the nodes with a pool (an agent); volumes can be placed only there.
	nodes []string
	pool  *Pool
}

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: version}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	svc := func(t csi.PluginCapability_Service_Type) *csi.PluginCapability {
		return &csi.PluginCapability{Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: t}}}
	}
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{
		svc(csi.PluginCapability_Service_CONTROLLER_SERVICE),
		svc(csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS),
	}}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

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
	if !safeName.MatchString(name) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid volume name %q", name)
	}
	poolName := req.GetParameters()["poolname"]
	if poolName == "" {
		return nil, status.Error(codes.InvalidArgument, "poolname not specified in the StorageClass parameters")
	}
	for _, c := range req.GetVolumeCapabilities() {
		if c.GetBlock() != nil {
			return nil, status.Error(codes.InvalidArgument, "block volumes are not supported (fstype zfs)")
		}
	}
	capacity := roundedCapacity(req.GetCapacityRange().GetRequiredBytes())
	src := req.GetVolumeContentSource()

	if existing := d.pool.Dataset(name); existing != nil {
		return d.volumeResponse(existing, src), nil
	}
	var err error
	switch {
	case src.GetSnapshot() != nil:
		err = d.cloneFromSnapshot(name, poolName, capacity, src.GetSnapshot().GetSnapshotId())
	case src.GetVolume() != nil:
		err = d.cloneFromVolume(name, poolName, capacity, src.GetVolume().GetVolumeId())
	default:
		var node string
		if node, err = d.pickNode(req.GetAccessibilityRequirements()); err == nil {
			err = d.pool.Create(name, poolName, node, capacity)
		}
	}
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	ds := d.pool.Dataset(name)
	log.Printf("CreateVolume %s on %s capacity=%d origin=%q", name, ds.Node, ds.Capacity, ds.Origin)
	return d.volumeResponse(ds, src), nil
}

func (d *driver) cloneFromSnapshot(name, poolName string, capacity int64, id string) error {
	s := d.pool.SnapshotOf(id)
	if s == nil {
		// The VolumeSnapshot may still say readyToUse: its ZFS snapshot went with its volume.
		return fmt.Errorf("zfs clone failed: cannot open '%s/%s': dataset does not exist", poolName, id)
	}
	if capacity != s.Capacity {
		return fmt.Errorf("clone volume size is not matching: requested %d bytes, snapshot %s has %d", capacity, id, s.Capacity)
	}
	if poolName != s.Pool {
		return fmt.Errorf("clone volume pool %q is not the snapshot's pool %q", poolName, s.Pool)
	}
	return d.pool.Clone(id, name)
}

// cloneFromVolume is a PVC-to-PVC clone: a hidden snapshot "<source>@<clone>", then its clone.
func (d *driver) cloneFromVolume(name, poolName string, capacity int64, srcID string) error {
	src := d.pool.Dataset(srcID)
	if src == nil {
		return status.Errorf(codes.NotFound, "source volume %s not found", srcID)
	}
	if capacity != src.Capacity {
		return fmt.Errorf("clone volume size is not matching: requested %d bytes, volume %s has %d", capacity, srcID, src.Capacity)
	}
	if poolName != src.Pool {
		return fmt.Errorf("clone volume pool %q is not the source's pool %q", poolName, src.Pool)
	}
	full := snapshotName(srcID, name)
	if d.pool.SnapshotOf(full) == nil {
		if err := d.pool.TakeSnapshot(srcID, name); err != nil {
			return err
		}
	}
	return d.pool.Clone(full, name)
}

// pickNode: the first preferred, then requisite, topology naming a node with a pool.
func (d *driver) pickNode(req *csi.TopologyRequirement) (string, error) {
	var asked []string
	for _, t := range append(append([]*csi.Topology{}, req.GetPreferred()...), req.GetRequisite()...) {
		if n, ok := t.GetSegments()[TopologyKey]; ok {
			asked = append(asked, n)
			if contains(d.nodes, n) {
				return n, nil
			}
		}
	}
	if len(asked) == 0 {
		return d.nodeID, nil
	}
	return "", status.Errorf(codes.ResourceExhausted, "no ZFS pool on the requested nodes %v (pools on %v)", asked, d.nodes)
}

func (d *driver) volumeResponse(ds *Dataset, src *csi.VolumeContentSource) *csi.CreateVolumeResponse {
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:           ds.Name,
		CapacityBytes:      ds.Capacity,
		VolumeContext:      map[string]string{"openebs.io/poolname": ds.Pool},
		ContentSource:      src,
		AccessibleTopology: []*csi.Topology{{Segments: map[string]string{TopologyKey: ds.Node}}},
	}}
}

func (d *driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if !safeName.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid volume id %q", id)
	}
	ds := d.pool.Dataset(id)
	if ds == nil {
		return &csi.DeleteVolumeResponse{}, nil
	}
	if err := d.pool.DestroyRecursive(id); err != nil && !errors.Is(err, errNotFound) {
		return nil, status.Errorf(codes.Internal, "zfs destroy -r %s/%s failed: %v", ds.Pool, id, err)
	}
	// A PVC-to-PVC clone's hidden snapshot goes with the clone.
	if srcDS, snap := splitSnapshot(ds.Origin); snap == id && srcDS != "" {
		if err := d.pool.MarkForDestroy(ds.Origin); err != nil {
			log.Printf("DeleteVolume %s: hidden snapshot %s: %v", id, ds.Origin, err)
		}
	}
	log.Printf("DeleteVolume %s", id)
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if d.pool.Dataset(req.GetVolumeId()) == nil {
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

// CreateSnapshot: snapshot id "<volume>@<name>" (name = "snapshot-<VolumeSnapshot uid>").
func (d *driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, src := req.GetName(), req.GetSourceVolumeId()
	if !safeName.MatchString(name) || !safeName.MatchString(src) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid snapshot name %q or source %q", name, src)
	}
	full := snapshotName(src, name)
	if s := d.pool.SnapshotOf(full); s != nil {
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
	}
	if err := d.pool.TakeSnapshot(src, name); err != nil {
		if errors.Is(err, errNotFound) {
			return nil, status.Errorf(codes.NotFound, "source volume %s not found", src)
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	s := d.pool.SnapshotOf(full)
	log.Printf("CreateSnapshot %s size=%d", full, s.Capacity)
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
}

func csiSnapshot(s *Snapshot) *csi.Snapshot {
	return &csi.Snapshot{SnapshotId: s.Name, SourceVolumeId: s.Dataset, SizeBytes: s.Capacity,
		CreationTime: timestamppb.New(s.Created), ReadyToUse: true}
}

// DeleteSnapshot answers OK at once; a snapshot with a live clone stays until the clone is gone.
func (d *driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if !safeSnapshot.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid snapshot id %q", id)
	}
	if err := d.pool.MarkForDestroy(id); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	log.Printf("DeleteSnapshot %s", id)
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	st := d.pool.Snapshot()
	names := make([]string, 0, len(st.Snapshots))
	for n := range st.Snapshots {
		names = append(names, n)
	}
	sort.Strings(names)
	var entries []*csi.ListSnapshotsResponse_Entry
	for _, n := range names {
		s := st.Snapshots[n]
		if contains(st.PendingDestroys, n) {
			continue // its VolumeSnapshot is gone: CSI no longer sees it
		}
		if id := req.GetSnapshotId(); id != "" && id != n {
			continue
		}
		if v := req.GetSourceVolumeId(); v != "" && v != s.Dataset {
			continue
		}
		entries = append(entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(s)})
	}
	return &csi.ListSnapshotsResponse{Entries: entries}, nil
}

// ---- Node ----

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: d.nodeID,
		AccessibleTopology: &csi.Topology{Segments: map[string]string{TopologyKey: d.nodeID}}}, nil
}

func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func (d *driver) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if !safeName.MatchString(id) || target == "" || !strings.HasPrefix(target, "/") {
		return nil, status.Error(codes.InvalidArgument, "volume id and an absolute target path are required")
	}
	ds := d.pool.Dataset(id)
	if ds == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", id)
	}
	if ds.Node != d.nodeID {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s lives on node %s, not on %s", id, ds.Node, d.nodeID)
	}
	if err := d.pool.Publish(id, target, req.GetReadonly()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (d *driver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if req.GetTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	}
	if err := d.pool.Unpublish(req.GetTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
