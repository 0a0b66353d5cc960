{{/*
Names, labels and the pieces every pod shares.
*/}}

{{- define "mlwb.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* RELEASE-mlwb, or the release name alone when it already contains "mlwb". */}}
{{- define "mlwb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mlwb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "mlwb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The server pod's selector; the CronJob pods' affinity points at it. */}}
{{- define "mlwb.serverSelector" -}}
app.kubernetes.io/name: {{ include "mlwb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "mlwb.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{- define "mlwb.claimName" -}}
{{- .Values.store.existingClaim | default (printf "%s-store" (include "mlwb.fullname" .)) -}}
{{- end -}}

{{- define "mlwb.secretName" -}}
{{- .Values.token.existingSecret | default (printf "%s-token" (include "mlwb.fullname" .)) -}}
{{- end -}}

{{/* The pod-level security context: the image's user, mlwb (10001). */}}
{{- define "mlwb.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "mlwb.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Scheduling shared by every pod. */}}
{{- define "mlwb.scheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A scheduled role: one `mlwb load` or `mlwb train` run per Job, on the server's node.
Call with (dict "root" $ "role" "load" "args" (list ...) "schedule" S "resources" R).
*/}}
{{- define "mlwb.cronjob" -}}
{{- $root := .root -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "mlwb.fullname" $root }}-{{ .role }}
  labels:
    {{- include "mlwb.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  schedule: {{ .schedule | quote }}
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 300
  successfulJobsHistoryLimit: {{ $root.Values.jobs.successfulJobsHistoryLimit }}
  failedJobsHistoryLimit: {{ $root.Values.jobs.failedJobsHistoryLimit }}
  jobTemplate:
    spec:
      backoffLimit: {{ $root.Values.jobs.backoffLimit }}
      activeDeadlineSeconds: {{ $root.Values.jobs.activeDeadlineSeconds }}
      ttlSecondsAfterFinished: 86400
      template:
        metadata:
          labels:
            {{- include "mlwb.labels" $root | nindent 12 }}
            app.kubernetes.io/component: {{ .role }}
          {{- with $root.Values.podAnnotations }}
          annotations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
        spec:
          restartPolicy: Never
          {{- with include "mlwb.scheduling" $root | trim }}
          {{- . | nindent 10 }}
          {{- end }}
          # SQLite needs every process on one node: run where the server's pod runs.
          affinity:
            podAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                - topologyKey: kubernetes.io/hostname
                  labelSelector:
                    matchLabels:
                      {{- include "mlwb.serverSelector" $root | nindent 22 }}
          securityContext:
            {{- include "mlwb.podSecurityContext" $root | nindent 12 }}
          containers:
            - name: {{ .role }}
              image: {{ include "mlwb.image" $root }}
              imagePullPolicy: {{ $root.Values.image.pullPolicy }}
              args:
                {{- range .args }}
                - {{ . | quote }}
                {{- end }}
                - "--db"
                - "/var/lib/mlwb/mlwb.db"
              resources:
                {{- toYaml .resources | nindent 16 }}
              securityContext:
                {{- include "mlwb.containerSecurityContext" $root | nindent 16 }}
              volumeMounts:
                - name: store
                  mountPath: /var/lib/mlwb
                - name: tmp
                  mountPath: /tmp
                {{- with $root.Values.extraVolumeMounts }}
                {{- toYaml . | nindent 16 }}
                {{- end }}
          volumes:
            - name: store
              persistentVolumeClaim:
                claimName: {{ include "mlwb.claimName" $root }}
            - name: tmp
              emptyDir: {}
            {{- with $root.Values.extraVolumes }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
{{- end -}}
