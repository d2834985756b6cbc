# Delivery targets: images, Helm, CD and smoke tests (docs/CI_CD.md). Included by the Makefile.
# Every Helm/CD/smoke target goes through scripts/deploy.sh, the same code path as the CD
# workflow. Variables (make VAR=value):
#   DEV_HOST   ingress host of the dev cluster, e.g. api.$(minikube ip).nip.io
#   HOST       host (or host:port) the smoke tests target
#   REV        Helm revision for helm-rollback
#   REGISTRY   image registry path for push, e.g. ghcr.io/<user> (lowercase)
#   IMAGE_TAG  image tag built, pushed and deployed (default dev)
#   NAMESPACE  (october)  RELEASE (app)  CHART (deploy/helm/api)  API_SERVICE (api)
#   PF_PORT    local port of smoke-pf's port-forward (default: any free port)
#   DEPLOY_OUT rendered manifest, diagnostics and summary of a deploy (default build/deploy)
#   SET        extra chart values, space-separated KEY=VALUE (each becomes --set KEY=VALUE)
#   ENGINE     docker or podman for images/push (default: docker when it answers, else podman)
#   HELM, KUBECTL  the binaries (default helm and kubectl from PATH)
#   E2E_ARGS   options of tests/e2e/kind.sh for e2e-kind, e.g. E2E_ARGS='--keep --drills smoke,hpa'

NAMESPACE ?= october
RELEASE ?= app
CHART ?= deploy/helm/api
IMAGE_TAG ?= dev
API_SERVICE ?= api
DEPLOY_OUT ?= build/deploy
HELM ?= helm
KUBECTL ?= kubectl
DEV_HOST ?=
HOST ?=
REV ?=
REGISTRY ?=
PF_PORT ?=
ENGINE ?=
SET ?=
E2E_ARGS ?=

.PHONY: images push helm-lint helm-template-dev helm-up-dev helm-up-dev-atomic helm-history \
	helm-rollback smoke-ci smoke-pf cd-dev cd-dev-atomic e2e-kind

# $(call cicd_require,VAR,what to give): stops with a usage line when VAR is empty.
cicd_require = $(if $(strip $($(1))),,$(error usage: make $@ $(1)=<$(2)>  ($(1) is required; 'make help' lists the targets, docs/CI_CD.md explains them)))

cicd_deploy = HELM="$(HELM)" KUBECTL="$(KUBECTL)" bash scripts/deploy.sh
cicd_release = --namespace $(NAMESPACE) --release $(RELEASE) --service $(API_SERVICE) --out $(DEPLOY_OUT)
cicd_values = $(cicd_release) --chart $(CHART) --image-tag $(IMAGE_TAG) \
	$(if $(strip $(DEV_HOST)),--host $(DEV_HOST)) $(if $(strip $(REGISTRY)),--registry $(REGISTRY)) \
	$(foreach value,$(SET),--set $(value))

images: ## Build the october-api and october-worker images (IMAGE_TAG=dev, ENGINE=docker|podman)
	@bash docker/build-images.sh --tag $(IMAGE_TAG) $(if $(strip $(ENGINE)),--engine $(ENGINE))

push: ## Tag and push both images: make push REGISTRY=ghcr.io/<user> [IMAGE_TAG=dev]
	$(call cicd_require,REGISTRY,registry path such as ghcr.io/<user>)
	@set -e; engine="$(ENGINE)"; \
	if [ -z "$$engine" ]; then \
	  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi; \
	fi; \
	for image in october-api october-worker; do \
	  if ! "$$engine" image inspect "$$image:$(IMAGE_TAG)" >/dev/null 2>&1; then \
	    echo "push: $$image:$(IMAGE_TAG) is not built; run 'make images IMAGE_TAG=$(IMAGE_TAG)' first" >&2; exit 1; \
	  fi; \
	  "$$engine" tag "$$image:$(IMAGE_TAG)" "$(REGISTRY)/$$image:$(IMAGE_TAG)"; \
	  "$$engine" push "$(REGISTRY)/$$image:$(IMAGE_TAG)"; \
	  echo "push: $(REGISTRY)/$$image:$(IMAGE_TAG)"; \
	done

helm-lint: ## helm lint --strict the chart with values-dev.yaml
	@$(cicd_deploy) lint $(cicd_values)

helm-template-dev: ## Render the chart for dev (preview; DEV_HOST= optional)
	@$(cicd_deploy) template $(cicd_values)

helm-up-dev: ## helm upgrade --install to dev, no automatic rollback (DEV_HOST= optional)
	@$(cicd_deploy) upgrade $(cicd_values)

helm-up-dev-atomic: ## helm upgrade --install to dev; Helm rolls back a failed upgrade (--atomic / --rollback-on-failure)
	@$(cicd_deploy) upgrade --atomic $(cicd_values)

helm-history: ## Revisions of the release (helm history)
	@$(cicd_deploy) history $(cicd_release)

helm-rollback: ## Roll the release back: make helm-rollback REV=<revision>
	$(call cicd_require,REV,revision number from make helm-history)
	@$(cicd_deploy) rollback --revision $(REV) $(cicd_release)

smoke-ci: ## Smoke tests through the ingress: make smoke-ci HOST=api.<minikube ip>.nip.io
	$(call cicd_require,HOST,ingress host such as api.192.168.49.2.nip.io)
	@$(cicd_deploy) smoke --smoke-via ingress --host $(HOST) $(cicd_release)

smoke-pf: ## Smoke tests through kubectl port-forward to svc/api (PF_PORT= optional)
	@$(cicd_deploy) smoke --smoke-via port-forward $(cicd_release) \
		$(if $(strip $(PF_PORT)),--local-port $(PF_PORT))

cd-dev: ## CD as CI runs it (lint, template, upgrade, smoke, rollback): make cd-dev DEV_HOST=<host>
	$(call cicd_require,DEV_HOST,ingress host such as api.192.168.49.2.nip.io)
	@$(cicd_deploy) deploy $(cicd_values)

cd-dev-atomic: ## cd-dev with an atomic upgrade: make cd-dev-atomic DEV_HOST=<host>
	$(call cicd_require,DEV_HOST,ingress host such as api.192.168.49.2.nip.io)
	@$(cicd_deploy) deploy --atomic $(cicd_values)

# The end-to-end job of .github/workflows/e2e.yml, run the same way here: a kind cluster (Docker
# or Podman), both images built and loaded, scripts/deploy.sh, helm test, smoke and the drills.
e2e-kind: ## End-to-end on a kind cluster (Docker or Podman + kind): helm test, smoke, bad-release, worker-kill and HPA drills (E2E_ARGS=)
	@HELM="$(HELM)" KUBECTL="$(KUBECTL)" bash tests/e2e/kind.sh run --namespace $(NAMESPACE) \
		$(if $(strip $(ENGINE)),--engine $(ENGINE)) $(E2E_ARGS)
