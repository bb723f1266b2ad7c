package inject

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Names the injected agent uses in the pod.
const (
	// AgentContainerName is the agent container's name.
	AgentContainerName = "roundabout-agent"
	// AnnotationsVolumeName is the downward-API volume holding the pod's
	// annotations.
	AnnotationsVolumeName = "roundabout-annotations"
	// AnnotationsDir is where that volume is mounted in the agent.
	AnnotationsDir = "/etc/roundabout"
	// AnnotationsFile is the annotations file's path in the agent.
	AnnotationsFile = AnnotationsDir + "/annotations"
	// AdminPortName names the agent's admin port (at most 15 characters).
	AdminPortName = "rb-admin"
	// LookasidePortName names the agent's lookaside Resolve port, declared
	// when the pod asks for one (at most 15 characters).
	LookasidePortName = "rb-lookaside"
	// agentUID is distroless's nonroot user, so runAsNonRoot holds
	// whatever the image declares.
	agentUID = 65532
)

// withAgent returns a copy of pod with the agent, its volumes, the
// hostAliases of the Services that keep their names and the webhook's
// annotations added.
func withAgent(pod *corev1.Pod, o options, cfg Config) *corev1.Pod {
	out := pod.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[annotations.Status] = annotations.StatusInjected
	out.Annotations[annotations.AgentImage] = cfg.AgentImage
	if len(pod.Spec.Containers) > 0 {
		setDefaultContainer(out, pod.Spec.Containers[0].Name)
	}
	out.Spec.HostAliases = append(out.Spec.HostAliases, o.hostAliases...)
	out.Spec.Volumes = append(out.Spec.Volumes, annotationsVolume())
	agent := agentContainer(o, cfg)
	if o.ownToken {
		out.Spec.Volumes = append(out.Spec.Volumes, tokenVolume())
		agent.VolumeMounts = append(agent.VolumeMounts, tokenMount())
	}
	place(out, agent, o.native, cfg.adminPort())
	return out
}

func agentContainer(o options, cfg Config) corev1.Container {
	port := cfg.adminPort()
	return corev1.Container{
		Name:            AgentContainerName,
		Image:           cfg.AgentImage,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Args:            agentArgs(o, port),
		Env:             agentEnv(o.resources.gomaxprocs),
		Ports:           agentPorts(o, port),
		Resources:       o.resources.requirements,
		VolumeMounts:    []corev1.VolumeMount{{Name: AnnotationsVolumeName, MountPath: AnnotationsDir, ReadOnly: true}},
		StartupProbe:    probe("/readyz", port, startupPeriodSeconds, startupFailureThreshold),
		ReadinessProbe:  probe("/readyz", port, 5, 3),
		LivenessProbe:   probe("/healthz", port, 10, 3),
		SecurityContext: agentSecurityContext(),
	}
}

// agentArgs builds the agent's command line: one --upstream and --listen
// pair per upstream, the admin server on the pod IP for probes, the
// lookaside server on the pod IP when asked for, the annotations file for
// live strategy and subset-size changes, and the subsetting annotations.
func agentArgs(o options, adminPort int32) []string {
	var args []string
	for _, u := range o.upstreams {
		args = append(args, "--upstream="+u.target, "--listen="+u.listen)
	}
	args = append(args,
		"--annotations-file="+AnnotationsFile,
		adminAddrFlag(adminPort),
	)
	if o.lookasidePort != 0 {
		args = append(args, "--lookaside-addr=$(POD_IP):"+strconv.Itoa(int(o.lookasidePort)))
	}
	args = append(args, "--strategy="+o.strategy)
	if o.hashHeader != "" {
		args = append(args, "--hash-header="+o.hashHeader)
	}
	if o.logLevel != "" {
		args = append(args, "--log-level="+o.logLevel)
	}
	if o.subset.size != "" {
		args = append(args, "--subset-size="+o.subset.size)
	}
	if o.subset.peers != "" {
		args = append(args, "--subset-peers="+o.subset.peers)
	}
	if o.subset.id != "" {
		args = append(args, "--subset-id="+o.subset.id)
	}
	return args
}

// agentPorts declares the admin port and, when the pod asks for one, the
// lookaside port, so Services and network policies can name them.
func agentPorts(o options, adminPort int32) []corev1.ContainerPort {
	ports := []corev1.ContainerPort{{Name: AdminPortName, ContainerPort: adminPort, Protocol: corev1.ProtocolTCP}}
	if o.lookasidePort != 0 {
		ports = append(ports, corev1.ContainerPort{Name: LookasidePortName, ContainerPort: o.lookasidePort, Protocol: corev1.ProtocolTCP})
	}
	return ports
}

// agentEnv is the pod's identity from the downward API, and GOMAXPROCS.
func agentEnv(gomaxprocs string) []corev1.EnvVar {
	return []corev1.EnvVar{
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("POD_IP", "status.podIP"),
		{Name: "GOMAXPROCS", Value: gomaxprocs},
	}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path},
	}}
}

func probe(path string, port, periodSeconds, failureThreshold int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromInt32(port), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds:    periodSeconds,
		FailureThreshold: failureThreshold,
		TimeoutSeconds:   1,
	}
}

func agentSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](agentUID),
		ReadOnlyRootFilesystem:   ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// annotationsVolume projects the pod's annotations into a file the agent
// watches, so a strategy change reaches it without a restart.
func annotationsVolume() corev1.Volume {
	return corev1.Volume{
		Name: AnnotationsVolumeName,
		VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "annotations",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations"},
			}},
		}},
	}
}
