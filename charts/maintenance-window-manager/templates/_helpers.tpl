{{/* Name of the chart. */}}
{{- define "mwm.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name when it already contains the chart name, else release-chart. */}}
{{- define "mwm.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The fullname with a suffix, shortened so the whole stays a valid 63-character DNS label.
Usage: include "mwm.suffixed" (list . "api") */}}
{{- define "mwm.suffixed" -}}
{{- $root := index . 0 }}{{ $suffix := index . 1 }}
{{- printf "%s-%s" (include "mwm.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "mwm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mwm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: maintenance-window-manager
{{- end }}

{{- define "mwm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mwm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{- define "mwm.serviceAccountName" -}}
{{- default (include "mwm.suffixed" (list . "controller-manager")) .Values.serviceAccount.name }}
{{- end }}

{{- define "mwm.apiServiceName" -}}
{{- include "mwm.suffixed" (list . "api") }}
{{- end }}

{{/* The Secret with the API's certificate, whichever mode provides it. */}}
{{- define "mwm.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- required "tls.existingSecret.name is required when tls.mode is existingSecret" .Values.tls.existingSecret.name }}
{{- else }}
{{- include "mwm.suffixed" (list . "api-tls") }}
{{- end }}
{{- end }}

{{/* DNS names of the API's certificate: the Service's names, then tls.extraDNSNames. */}}
{{- define "mwm.dnsNames" -}}
{{- $svc := include "mwm.apiServiceName" . }}
{{- $names := list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- concat $names .Values.tls.extraDNSNames | toJson }}
{{- end }}

{{- define "mwm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Milliseconds in a Go duration that values.schema.json accepted (e.g. "1m30s", "1.5s"), as a float, for the
checks of the leader election timings. Usage: include "mwm.milliseconds" "15s" | float64 */}}
{{- define "mwm.milliseconds" -}}
{{- $units := dict "ns" 0.000001 "us" 0.001 "µs" 0.001 "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" . -1 }}
{{- $unit := regexFind "(ns|us|µs|ms|s|m|h)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $units $unit)) }}
{{- end }}
{{- $total }}
{{- end }}
