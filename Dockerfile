# The platform's image: one image, five processes (command-api, relay, worker, sagas,
# read-api)
# in server mode, or `tanqory serve` for embedded mode.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY schemas schemas
COPY commands commands
COPY streams streams
COPY projections projections
COPY read_api read_api
COPY runtime runtime
COPY tanqory tanqory
COPY bench bench
RUN pip install --no-cache-dir -c constraints.txt .
ENV TANQORY_HOST=0.0.0.0
ENTRYPOINT ["tanqory"]
CMD ["serve"]
