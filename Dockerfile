# Multi-stage build: a static binary on a distroless base, run as non-root.
#   docker build -t portal .
#   docker run -p 2222:2222 -p 8080:8080 -v portal-data:/data --env-file portal.env portal
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/portal . && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal /usr/local/bin/portal
# The data directory (store, host key, sandbox): keep it on a volume.
COPY --from=build --chown=nonroot:nonroot /out/data /data
VOLUME /data
ENV PORTAL_DATA_DIR=/data \
    PORTAL_SSH_ADDR=:2222 \
    PORTAL_HTTP_ADDR=:8080 \
    PORTAL_METRICS_ADDR=:9222
EXPOSE 2222 8080 9222
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/portal"]
