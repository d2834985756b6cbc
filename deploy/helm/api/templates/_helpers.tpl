{{/*
Shared helpers. Workload names are fixed (api, worker, redis, app-secret) so the commands of the
platform guide work as written: `kubectl -n october rollout status deploy/api`, `port-forward
svc/api 8080:8000`, `logs -l app=api`.
*/}}

{{- define "october.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "october.labels" -}}
helm.sh/chart: {{ include "october.chart" . }}
app.kubernetes.io/name: october
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: october
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). Immutable once deployed. */}}
{{- define "october.selectorLabels" -}}
app.kubernetes.io/name: october
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's objects and pods: the common ones, the selector, and `app: <component>`. */}}
{{- define "october.componentLabels" -}}
{{ include "october.labels" .root }}
app.kubernetes.io/component: {{ .component }}
app: {{ .component }}
{{- end }}

{{- define "october.serviceAccountName" -}}
{{ .Values.serviceAccount.name }}
{{- end }}

{{- define "october.secretName" -}}
{{ .Values.existingSecret | default "app-secret" }}
{{- end }}

{{/* Tag of the api image: api.image.tag, else v<appVersion>. */}}
{{- define "october.apiTag" -}}
{{ .Values.api.image.tag | default (printf "v%s" .Chart.AppVersion) }}
{{- end }}

{{/* Tag of the worker image: worker.image.tag, else the api's tag. */}}
{{- define "october.workerTag" -}}
{{ .Values.worker.image.tag | default (include "october.apiTag" .) }}
{{- end }}

{{/* Image reference of api or worker: (dict "root" $ "component" "api"). */}}
{{- define "october.image" -}}
{{- $v := index .root.Values .component -}}
{{- $repository := $v.image.repository | default (printf "%s/%s/october-%s" .root.Values.image.registry .root.Values.image.owner .component) -}}
{{- if $v.image.digest -}}
{{ $repository }}@{{ $v.image.digest }}
{{- else if eq .component "api" -}}
{{ $repository }}:{{ include "october.apiTag" .root }}
{{- else -}}
{{ $repository }}:{{ include "october.workerTag" .root }}
{{- end -}}
{{- end }}

{{/*
Environment of a component's ConfigMap, as a dict: config, then <component>.config over it, then
(api only) the settings of the structured api.* values.
*/}}
{{- define "october.configData" -}}
{{- $v := index .root.Values .component -}}
{{- $data := merge (deepCopy ($v.config | default dict)) (deepCopy (.root.Values.config | default dict)) -}}
{{- if eq .component "api" -}}
{{- $data = merge (include "october.apiKnobs" .root | fromYaml) $data -}}
{{- end -}}
{{- range $key := keys $data | sortAlpha }}
{{ $key }}: {{ include "october.scalar" (index $data $key) | quote }}
{{- end }}
{{- end }}

{{/*
A scalar as text. Helm 4 reads YAML numbers as float64, which print as 1.048576e+06 from a
million up: whole numbers are printed as integers.
*/}}
{{- define "october.scalar" -}}
{{- if and (kindIs "float64" .) (eq (. | int64 | float64) .) -}}
{{ . | int64 }}
{{- else -}}
{{ . }}
{{- end -}}
{{- end }}

{{/* One setting of a component as seen by the binary: the merged config, else the binary's default. */}}
{{- define "october.setting" -}}
{{- $v := index .root.Values .component -}}
{{- $data := merge (deepCopy ($v.config | default dict)) (deepCopy (.root.Values.config | default dict)) -}}
{{- if hasKey $data .key }}{{ index $data .key }}{{ else }}{{ .default }}{{ end -}}
{{- end }}

{{/*
terminationGracePeriodSeconds. The api drains (readiness false, still serving) for
SHUTDOWN_DRAIN_SECONDS, then lets in-flight requests finish within SHUTDOWN_TIMEOUT_SECONDS; the
worker lets running tasks finish within SHUTDOWN_TIMEOUT_SECONDS. A margin covers the exit itself.
*/}}
{{- define "october.terminationGrace" -}}
{{- $v := index .root.Values .component -}}
{{- $timeout := include "october.setting" (dict "root" .root "component" .component "key" "SHUTDOWN_TIMEOUT_SECONDS" "default" 20) | float64 -}}
{{- $drain := 0.0 -}}
{{- if eq .component "api" -}}
{{- $drain = include "october.setting" (dict "root" .root "component" .component "key" "SHUTDOWN_DRAIN_SECONDS" "default" 5) | float64 -}}
{{- end -}}
{{- addf $drain $timeout $v.terminationGraceMarginSeconds | ceil | int -}}
{{- end }}

{{/* Restricted Pod Security Standard: pod level. */}}
{{- define "october.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Restricted Pod Security Standard: container level. */}}
{{- define "october.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Does the cluster (or `helm template --api-versions`) serve the Prometheus operator's API? */}}
{{- define "october.hasMonitoringApi" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end -}}
{{- end }}

{{/* Queues the worker consumes (QUEUES, comma-separated), as a list. */}}
{{- define "october.workerQueues" -}}
{{- $queues := include "october.setting" (dict "root" . "component" "worker" "key" "QUEUES" "default" "celery") -}}
{{- range $q := splitList "," $queues }}{{ if trim $q }}
- {{ trim $q | quote }}
{{- end }}{{ end }}
{{- end }}

{{/*
The api settings of the structured values (api.ui, api.backendUrls, api.faults...), as YAML
`NAME: value` lines. An empty value renders nothing, so the binary's own default applies; false
switches render nothing for the same reason. JWT_SECRET is not here: it comes from a Secret.
*/}}
{{- define "october.apiKnobs" -}}
{{- $a := .Values.api -}}
{{- $knobs := dict
  "UI_COLOR" $a.ui.color
  "UI_MESSAGE" $a.ui.message
  "BACKEND_URLS" (join "," ($a.backendUrls | default list))
  "BACKEND_TIMEOUT" $a.backendTimeout
  "PATH_PREFIX" $a.pathPrefix
  "JWT_TTL_SECONDS" $a.jwt.ttlSeconds
  "STORE_MAX_BYTES" $a.dataDir.maxBytes
  "STORE_MAX_FILES" $a.dataDir.maxFiles
  "CACHE_MAX_VALUE_BYTES" $a.limits.cacheMaxValueBytes
  "ECHO_MAX_BYTES" $a.limits.echoMaxBytes
  "WS_MAX_MESSAGE_BYTES" $a.limits.wsMaxMessageBytes
  "WS_IDLE_TIMEOUT" $a.limits.wsIdleTimeout
  "RANDOM_DELAY" $a.faults.randomDelay
  "RANDOM_ERROR_PERCENT" $a.faults.randomErrorPercent
-}}
{{- if $a.faults.enablePanic }}{{ $_ := set $knobs "ENABLE_PANIC" "true" }}{{ end -}}
{{- if $a.faults.startUnhealthy }}{{ $_ := set $knobs "START_UNHEALTHY" "true" }}{{ end -}}
{{- if $a.faults.startUnready }}{{ $_ := set $knobs "START_UNREADY" "true" }}{{ end -}}
{{- if $a.configDir.enabled }}{{ $_ := set $knobs "CONFIG_DIR" $a.configDir.mountPath }}{{ end -}}
{{- if $a.dataDir.enabled }}{{ $_ := set $knobs "DATA_DIR" $a.dataDir.mountPath }}{{ end -}}
{{- range $key := keys $knobs | sortAlpha }}
{{- $value := index $knobs $key }}
{{- if ne (toString $value) "" }}
{{ $key }}: {{ include "october.scalar" $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name and key of the Secret holding the api's JWT_SECRET (api.jwt.enabled). */}}
{{- define "october.jwtSecretName" -}}
{{ .Values.api.jwt.existingSecret | default "api-jwt" }}
{{- end }}

{{- define "october.jwtSecretKey" -}}
{{ ternary .Values.api.jwt.existingSecretKey "JWT_SECRET" (ne .Values.api.jwt.existingSecret "") }}
{{- end }}

{{/* imagePullSecrets of every pod of the release (image.pullSecrets), or nothing. */}}
{{- define "october.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}
