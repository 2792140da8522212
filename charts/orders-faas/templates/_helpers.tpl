{{/* Names, labels and shared pod pieces. */}}

{{- define "orders.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orders.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "orders.selector" (list $ "notify") */}}
{{- define "orders.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* An image of ours: include "orders.image" (list $ "connector") */}}
{{- define "orders.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" $root.Values.image.registry (index . 1) $root.Values.image.tag -}}
{{- end -}}

{{- define "orders.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "orders.fullname" .)) -}}
{{- end -}}

{{- define "orders.mongoHost" -}}
{{- printf "%s-mongodb" (include "orders.fullname" .) -}}
{{- end -}}

{{- define "orders.redisHost" -}}
{{- printf "%s-redis" (include "orders.fullname" .) -}}
{{- end -}}

{{/* The in-cluster URL of the gateway: OpenFaaS' own, or the Knative facade. */}}
{{- define "orders.gatewayUrl" -}}
{{- if eq .Values.platform "knative" -}}
{{- printf "http://%s-gateway:8080" (include "orders.fullname" .) -}}
{{- else -}}
{{- printf "http://%s:%v" .Values.openfaas.gatewayHost .Values.openfaas.gatewayPort -}}
{{- end -}}
{{- end -}}

{{/* Pods that may talk to MongoDB and Redis carry this label (see the NetworkPolicies). */}}
{{- define "orders.dbClientLabel" -}}
orders-faas/db-client: "true"
{{- end -}}

{{- define "orders.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "orders.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Knative allows only container-level fields: the pod-level user, group and seccomp move
here; fsGroup has no container equivalent, so secret files are made world-readable (0444)
instead of group-readable, in a pod that runs this one container only. */}}
{{- define "orders.knativeContainerSecurityContext" -}}
{{ include "orders.containerSecurityContext" . }}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Secret files at /var/openfaas/secrets/<name>, where ordersaga's settings read them. */}}
{{- define "orders.secretsVolume" -}}
{{- $root := index . 0 -}}
- name: openfaas-secrets
  secret:
    secretName: {{ include "orders.secretName" $root }}
    defaultMode: {{ if gt (len .) 2 }}{{ index . 2 }}{{ else }}0440{{ end }}
    items:
      {{- range (index . 1) }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
{{- end -}}

{{- define "orders.secretsMount" -}}
- name: openfaas-secrets
  mountPath: /var/openfaas/secrets
  readOnly: true
{{- end -}}

{{/* Plain settings shared by the connector, notify and the functions. */}}
{{- define "orders.configEnv" -}}
- name: MONGO_DB
  value: {{ .Values.config.mongoDb | quote }}
- name: STREAM_NAME
  value: {{ .Values.config.streamName | quote }}
- name: DEAD_LETTER_STREAM
  value: {{ .Values.config.deadLetterStream | quote }}
- name: CONNECTOR_GROUP
  value: {{ .Values.config.connectorGroup | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- end -}}

{{/* A function's merged settings: include "orders.function" (list $ name spec) → YAML dict. */}}
{{- define "orders.function" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $spec := index . 2 | default dict -}}
{{- $d := $root.Values.functionDefaults -}}
{{- $annotations := dict -}}
{{- if $spec.schedule -}}
{{- $_ := set $annotations "topic" "cron-function" -}}
{{- $_ := set $annotations "schedule" $spec.schedule -}}
{{- else if $spec.topic -}}
{{- $_ := set $annotations "topic" $spec.topic -}}
{{- end -}}
{{- $labels := dict "com.openfaas.scale.min" (toString ($spec.scaleMin | default 1)) -}}
{{- if $spec.scaleMax -}}
{{- $_ := set $labels "com.openfaas.scale.max" (toString $spec.scaleMax) -}}
{{- end -}}
{{- if $spec.scaleZeroAfter -}}
{{- $_ := set $labels "com.openfaas.scale.zero" "true" -}}
{{- $_ := set $labels "com.openfaas.scale.zero-duration" (toString $spec.scaleZeroAfter) -}}
{{- end -}}
name: {{ $name }}
image: {{ include "orders.image" (list $root $name) }}
annotations: {{ $annotations | toJson }}
labels: {{ $labels | toJson }}
secrets: {{ $spec.secrets | default $d.secrets | toJson }}
requests: {{ $spec.requests | default $d.requests | toJson }}
limits: {{ $spec.limits | default $d.limits | toJson }}
environment:
  {{- range $k, $v := $d.environment }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
  MONGO_DB: {{ $root.Values.config.mongoDb | quote }}
  STREAM_NAME: {{ $root.Values.config.streamName | quote }}
  DEAD_LETTER_STREAM: {{ $root.Values.config.deadLetterStream | quote }}
  CONNECTOR_GROUP: {{ $root.Values.config.connectorGroup | quote }}
  LOG_LEVEL: {{ $root.Values.config.logLevel | quote }}
  {{- /* Under the watchdog the handler folder is function/: the name comes from here. */}}
  FUNCTION_NAME: {{ $name | quote }}
  {{- if $spec.schedule }}
  {{- /* A call claims the slot of this schedule it falls in: one run per slot. */}}
  CRON_SCHEDULE: {{ $spec.schedule | quote }}
  {{- end }}
  {{- range $k, $v := $spec.environment }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end -}}
