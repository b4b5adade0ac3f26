{{/* The name prefix of every object. */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vigil.selector" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding the shared token (key "token"). */}}
{{- define "vigil.tokenSecret" -}}
{{- default (printf "%s-token" (include "vigil.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* Where the operator and the scan Jobs reach the vigil server. */}}
{{- define "vigil.serverUrl" -}}
{{- if .Values.server.enabled -}}
{{- printf "http://%s-server.%s.svc:%d" (include "vigil.fullname" .) .Release.Namespace (int .Values.server.port) -}}
{{- else -}}
{{- required "externalServer.url is required when server.enabled is false" .Values.externalServer.url -}}
{{- end -}}
{{- end -}}

{{/* Namespaces whose workloads the operator reads, when it reads per namespace (not AllNamespaces). */}}
{{- define "vigil.readNamespaces" -}}
{{- if eq .Values.operator.installMode "OwnNamespace" -}}
{{- list .Release.Namespace | toJson -}}
{{- else -}}
{{- $ns := required "operator.targetNamespaces is required in ListOfNamespaces mode" .Values.operator.targetNamespaces -}}
{{- range $ns }}{{ if regexMatch "[*?\\[]" . }}{{ fail (printf "operator.targetNamespaces: %q is a glob; the chart binds a Role per namespace, so give names (or use AllNamespaces with excludeNamespaces)" .) }}{{ end }}{{ end -}}
{{- uniq (append $ns .Release.Namespace) | toJson -}}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard: no root, read-only root filesystem, no capabilities, RuntimeDefault seccomp. */}}
{{- define "vigil.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "vigil.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "vigil.monitoringApi" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/* Leader election through kopf peering: asked for, or needed because more than one operator pod runs. */}}
{{- define "vigil.peering" -}}
{{- if or .Values.operator.peering.enabled (gt (int .Values.operator.replicas) 1) }}true{{ end -}}
{{- end -}}
