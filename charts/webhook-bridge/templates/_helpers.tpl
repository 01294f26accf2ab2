{{- define "webhook-bridge.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "webhook-bridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "webhook-bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "webhook-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "webhook-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webhook-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "webhook-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "webhook-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Leader election is on whenever more than one replica runs. */}}
{{- define "webhook-bridge.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{/*
The rules on WebhookBridges and their Events, in a ClusterRole or in a Role per watched namespace:
exactly the calls the operator makes (tests/chart.rs runs it on a real kube-apiserver with them).
- webhookbridges: list and watch (the controller, and the startup check behind /readyz); patch
  (the finalizer is added and removed by JSON patches). It never GETs, PUTs or deletes a bridge.
- webhookbridges/status: patch (merge patches).
- events (events.k8s.io): create, and patch (kube's Recorder folds a repeated Event into a series).
No webhookbridges/finalizers: that permission guards only ownerReferences with blockOwnerDeletion
pointing at a bridge, and the operator sets none.
*/}}
{{- define "webhook-bridge.bridgeRules" -}}
- apiGroups: ["webhookbridge.io"]
  resources: ["webhookbridges"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["webhookbridge.io"]
  resources: ["webhookbridges/status"]
  verbs: ["patch"]
# Shared gateways (WebhookBridgeGateway): read by the bridges attached, reconciled like bridges.
- apiGroups: ["webhookbridge.io"]
  resources: ["webhookbridgegateways"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["webhookbridge.io"]
  resources: ["webhookbridgegateways/status"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# spec.domain.dnsEndpoint: the external-dns DNSEndpoint next to a bridge (docs/production.md).
- apiGroups: ["externaldns.k8s.io"]
  resources: ["dnsendpoints"]
  verbs: ["get", "create", "patch", "delete"]
{{- if .Values.webhookSources.secrets.enabled }}
# spec.webhookSources[].secretRef (opt-in: webhookSources.secrets.enabled): the credential is
# read (get) at each reconcile of a bridge that names the Secret, and Secrets' metadata only is
# watched (list, watch) so an edit rotates it at once. Scope it with operator.namespaces: these
# rules are then Roles in those namespaces only.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}
