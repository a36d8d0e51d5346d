# syntax=docker/dockerfile:1
# earshot voice gateway. Models are NOT baked in by default: mount them at /models (EARSHOT_MODELS_DIR), or build
# with `--build-arg FETCH_MODELS=true` (needs network at build time) to run `npm run models` into the image.
#
#   docker build -t earshot .
#   docker run -p 8080:8080 -v /path/to/models:/models:ro -v earshot-data:/data earshot
#
# AudioSocket (9092) and gRPC (50051) bind loopback inside the container, so they are not exposed. To offer them,
# choose it explicitly (README, "Network exposure"): AudioSocket only to the Asterisk servers on a private network
#   -e EARSHOT_AUDIOSOCKET_HOST=0.0.0.0 -e EARSHOT_AUDIOSOCKET_ALLOW=10.0.0.5 -p 10.0.0.1:9092:9092
# and gRPC over TLS
#   -e EARSHOT_GRPC_HOST=0.0.0.0 -e EARSHOT_GRPC_TLS_CERT=/certs/cert.pem -e EARSHOT_GRPC_TLS_KEY=/certs/key.pem \
#   -v /path/to/certs:/certs:ro -p 50051:50051

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- dependencies: compilers only here, in case a native addon (better-sqlite3) has no prebuilt binary ----------
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# .npmrc carries onnxruntime-node-install=skip (CPU binaries ship in the package; no CUDA download).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# espeak-ng: fallback TTS; ffmpeg/sox: prompt import and audio conversion; bzip2: `tar -xjf` of the sherpa-onnx
# .tar.bz2 model archives (Node has no bzip2); tini: PID 1 that forwards SIGTERM so the gateway drains calls.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng ffmpeg sox bzip2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    EARSHOT_HOST=0.0.0.0 \
    EARSHOT_PORT=8080 \
    EARSHOT_MODELS_DIR=/models \
    EARSHOT_DATA_DIR=/data

WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root . .

# Optional: fetch the default models into /app/models/cache (the gateway searches it after EARSHOT_MODELS_DIR,
# so a mounted /models still wins). MODELS lists ids; empty = the ones the default configuration uses.
ARG FETCH_MODELS=false
ARG MODELS=""
RUN if [ "$FETCH_MODELS" = "true" ]; then npm run models -- --dir /app/models/cache $MODELS; fi

# Code and models read-only for the service user; only /data (evidence, policy store, prompt cache) is writable.
RUN mkdir -p /data /models && chown node:node /data
VOLUME ["/data"]
USER node

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.EARSHOT_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

ENTRYPOINT ["/usr/bin/tini", "--"]
# node itself, not `npm start`: npm and a loader wrapper each get the SIGTERM sent to the group and forward it
# again, and the gateway must see one signal and drain (test/production-start.test.ts runs exactly this CMD).
# --initial-old-space-size=128: the main thread's heap is ~40 MB live and V8 left it ~13 MB of room, so it ran a
# major collection every few seconds under abuse (133 in a 10-minute soak), each holding the audio path's event loop
# and its concurrent marking taking the cores from the listen workers; below 128 MB V8 now skips them (8–9 in the
# soak), for ~35–45 MB more RSS (README, "Limits and network exposure", soak runs 38–43). The bench and the soak
# start their gateway with these same flags (bench/productionStart.ts), and `npm start` runs this same command.
CMD ["node", "--initial-old-space-size=128", "--import", "tsx", "gateway/main.ts"]
