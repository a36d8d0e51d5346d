// sherpa-onnx-node ships no type declarations; its surface is wrapped in small typed modules here.
declare module 'sherpa-onnx-node';
