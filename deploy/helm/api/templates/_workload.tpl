{{/*
Deployment of api or worker: (dict "root" $ "component" "api"|"worker").
Both run as 65532 on a read-only root filesystem, read their settings from <component>-config and
the Secret, and answer /healthz and /ready on their HTTP port (api 8000, worker 8001).
*/}}
{{- define "october.deployment" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $v := index $root.Values $component -}}
{{- $port := ternary 8000 8001 (eq $component "api") -}}
{{- $autoscaled := $v.autoscaling.enabled -}}
{{- if eq $component "worker" }}{{ $autoscaled = or $autoscaled $v.keda.enabled }}{{ end -}}
{{- $ctx := dict "root" $root "component" $component -}}
{{- $isApi := eq $component "api" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "october.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if not $autoscaled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "october.selectorLabels" $ctx | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # A new pod must be ready before an old one goes: capacity never drops during a rollout.
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "october.componentLabels" $ctx | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A change of settings or secrets changes these, so the pods roll.
        checksum/config: {{ include "october.configData" $ctx | sha256sum }}
        {{- if not $root.Values.existingSecret }}
        checksum/secret: {{ include "october.secretData" $root | sha256sum }}
        {{- end }}
        {{- if and $isApi $root.Values.api.jwt.enabled $root.Values.api.jwt.secret (not $root.Values.api.jwt.existingSecret) }}
        checksum/jwt: {{ $root.Values.api.jwt.secret | sha256sum }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "october.serviceAccountName" $root }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ include "october.terminationGrace" $ctx }}
      securityContext:
        {{- include "october.podSecurityContext" (dict "uid" 65532) | nindent 8 }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with include "october.imagePullSecrets" $root | trim }}{{ . | nindent 6 }}{{ end }}
      containers:
        - name: {{ $component }}
          image: {{ include "october.image" $ctx | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $port }}
              protocol: TCP
          env:
            - name: HOST
              value: "0.0.0.0"
            - name: PORT
              value: {{ $port | quote }}
            {{- if and $isApi $root.Values.api.jwt.enabled }}
            # The signing key comes from a Secret, never from a plain value in the pod spec.
            - name: JWT_SECRET
              valueFrom:
                secretKeyRef:
                  name: {{ include "october.jwtSecretName" $root }}
                  key: {{ include "october.jwtSecretKey" $root }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $component }}-config
            - secretRef:
                name: {{ include "october.secretName" $root }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ $v.probes.startup.periodSeconds }}
            timeoutSeconds: {{ $v.probes.startup.timeoutSeconds }}
            failureThreshold: {{ $v.probes.startup.failureThreshold }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ $v.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.liveness.failureThreshold }}
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: {{ $v.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.readiness.failureThreshold }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- include "october.containerSecurityContext" (dict "uid" 65532) | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if and $isApi $root.Values.api.configDir.enabled }}
            # The whole directory, never subPath: a subPath mount would pin the first version and
            # miss the atomic ..data symlink swap by which Kubernetes updates a ConfigMap volume.
            - name: config-dir
              mountPath: {{ $root.Values.api.configDir.mountPath }}
              readOnly: true
            {{- end }}
            {{- if and $isApi $root.Values.api.dataDir.enabled }}
            - name: data-dir
              mountPath: {{ $root.Values.api.dataDir.mountPath }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            medium: Memory
            sizeLimit: 16Mi
        {{- if and $isApi $root.Values.api.configDir.enabled }}
        - name: config-dir
          configMap:
            name: {{ $root.Values.api.configDir.existingConfigMap | default "api-config-dir" }}
        {{- end }}
        {{- with $root.Values.api.dataDir }}
        {{- if and $isApi .enabled }}
        - name: data-dir
          {{- if .persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ .persistence.existingClaim | default "api-data" }}
          {{- else }}
          emptyDir:
            sizeLimit: {{ .sizeLimit }}
          {{- end }}
        {{- end }}
        {{- end }}
      {{- if $v.spreadAcrossNodes }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "october.selectorLabels" $ctx | nindent 14 }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* HorizontalPodAutoscaler on CPU of api or worker. */}}
{{- define "october.hpa" -}}
{{- $v := index .root.Values .component -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "october.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .component }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      # Load tests come in bursts: wait before giving capacity back.
      stabilizationWindowSeconds: 300
{{- end }}

{{/* PodDisruptionBudget of api or worker. */}}
{{- define "october.pdb" -}}
{{- $v := index .root.Values .component -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "october.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "october.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* Secret data, base64-encoded: the source of app-secret and of the pods' checksum/secret. */}}
{{- define "october.secretData" -}}
{{- range $key := keys .Values.secrets | sortAlpha }}
{{ $key }}: {{ index $.Values.secrets $key | toString | b64enc | quote }}
{{- end }}
{{- end }}
