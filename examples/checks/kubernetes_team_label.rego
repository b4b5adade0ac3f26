# METADATA
# title: Workloads must carry a 'team' label
# description: Every workload needs an owning team so alerts and findings reach someone.
# custom:
#   id: USR-K8S-0001
#   avd_id: AVD-USR-K8S-0001
#   severity: MEDIUM
#   recommended_action: Add metadata.labels.team to the resource
#   input:
#     selector:
#     - type: kubernetes
package user.kubernetes.USR_K8S_0001

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

deny contains msg if {
	input.kind in workload_kinds
	not input.metadata.labels.team
	msg := sprintf("%s '%s' has no 'team' label", [input.kind, input.metadata.name])
}
