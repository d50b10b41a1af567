{{/* Chart name, overridable. It is also the app.kubernetes.io/name label and so Prometheus's job. */}}
{{- define "gp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects: the release name when it already contains the chart name. */}}
{{- define "gp.fullname" -}}
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

{{/* Documented name: the metrics Service is always <release>-metrics. */}}
{{- define "gp.metricsServiceName" -}}
{{- printf "%s-metrics" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gp.webhookServiceName" -}}
{{- printf "%s-webhook" (include "gp.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gp.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "gp.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gp.serviceAccountName" -}}
{{- default (include "gp.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "gp.credentialsSecretName" -}}
{{- default (include "gp.fullname" .) .Values.goalert.existingSecret -}}
{{- end -}}

{{- define "gp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations, or nothing. Argument: (dict "ctx" $ "extra" map). */}}
{{- define "gp.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) .ctx.Values.commonAnnotations -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "gp.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Checks that no schema can express well; each fails with a message saying what to set. */}}
{{- define "gp.validate" -}}
{{- if not .Values.goalert.url -}}
{{- fail "goalert.url is required: the base URL of your GoAlert, e.g. --set goalert.url=https://goalert.example.com" -}}
{{- end -}}
{{- if not .Values.goalert.existingSecret -}}
{{- if and (eq .Values.goalert.auth "apiKey") (not .Values.goalert.apiKey) -}}
{{- fail "goalert.apiKey is required (or goalert.existingSecret): an admin API key minted for the operator's query document; `goalert-provisioning create-api-key` mints one" -}}
{{- end -}}
{{- if and (eq .Values.goalert.auth "password") (not (and .Values.goalert.username .Values.goalert.password)) -}}
{{- fail "goalert.auth=password needs goalert.username and goalert.password (or goalert.existingSecret)" -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.goalert.auth "password") .Values.goalert.apiKey -}}
{{- fail "goalert.apiKey is set but goalert.auth=password: set one way to authenticate" -}}
{{- end -}}
{{- end -}}

{{/* What the operator may do to the objects it manages and next to them. */}}
{{- define "gp.objectRules" }}
  # Reading the kinds, adding and removing the finalizer; the operator never creates, replaces
  # or deletes a custom resource.
  - apiGroups: [goalert.heystaq.com]
    resources: [goalertusers, goalertrotations, goalertschedules, goalertescalationpolicies, goalertservices, goalertadmins]
    verbs: [get, list, watch, patch]
  - apiGroups: [goalert.heystaq.com]
    resources:
      - goalertusers/status
      - goalertrotations/status
      - goalertschedules/status
      - goalertescalationpolicies/status
      - goalertservices/status
      - goalertadmins/status
    verbs: [patch]
  # Secrets it creates carry an owner reference that blocks the owner's deletion.
  - apiGroups: [goalert.heystaq.com]
    resources:
      - goalertusers/finalizers
      - goalertservices/finalizers
    verbs: [update]
  # Integration keys of GoAlertServices are written into Secrets next to them (only into Secrets
  # a resource owns or that opted in); password and config Secrets referenced by objects are
  # read. Never listed or watched cluster-wide: with watchNamespace, the operator watches the
  # Secrets it wrote there to restore them at once; without, the next resync restores them.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, create, patch]
  {{- if .Values.watchNamespace }}
  - apiGroups: [""]
    resources: [secrets]
    verbs: [list, watch]
  {{- end }}
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [events.k8s.io]
    resources: [events]
    verbs: [create, patch]
{{- end }}
