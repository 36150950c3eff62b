"""Offline validation of the deployment and observability files (Dockerfile, .dockerignore,
docker-compose.yml, .env.template, k8s/, deploy/): a package rather than a heredoc so that ruff
checks it and each area lives in its own module. Run through scripts/validate-deploy.sh, which
provides the venv, kustomize and promtool."""
