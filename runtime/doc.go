// Package runtime runs video transformers exported to ONNX (with their
// attention as outputs) on ONNX Runtime and explains their predictions with
// the staa engine: whole clips in, prediction and spatio-temporal attribution
// out, no PyTorch needed.
//
//	s, err := runtime.Open("models/timesformer-synth.onnx", runtime.Options{IntraOpThreads: 2})
//	defer s.Close()
//	res, err := s.Explain([]runtime.Video{clip}, staa.DefaultOptions())
//	res.Clips[0].Prediction()            // class, probability
//	res.Clips[0].Attribution.Spatial     // [F, h, w] maps
//	res.Clips[0].Attribution.Temporal    // [F] profile
//
// # The model
//
// Open reads the model's staa.* metadata_props (written by
// scripts/model/export_onnx.py): the geometry (layout, frames, patch grid,
// CLS, tubelet), the input frame size, the pixel normalisation, the class
// names and the names of the outputs — logits, and the attention of every
// layer: for TimeSformer's divided space-time attention spatial_attention
// (B, L, T, H, 1+N, 1+N) and temporal_attention (B, L, N, H, T, T); for
// joint attention one (B, L, H, S, S) output. Nothing else needs
// configuring. The metadata and the graph's inputs and outputs are read from
// the file directly (a small streaming protobuf reader), so a file that is
// missing, corrupt, without metadata or without attention outputs is refused
// with a precise message before ONNX Runtime is even loaded.
//
// # ONNX Runtime
//
// The shared library (libonnxruntime, version 1.24 or later, for
// github.com/yalue/onnxruntime_go v1.27.0) is loaded once per process, from
// Options.LibraryPath, else $STAA_ONNXRUNTIME_LIB, else
// build/onnxruntime/libonnxruntime.so.1 of the staa module, which
// scripts/install_onnxruntime.sh installs (see LoadLibrary).
//
// # Preprocessing and sampling
//
// Clips are uint8 RGB (Video: F×H×W×3) of any frame size: frames are resized
// to the model's size with an antialiased bilinear filter (PIL's and torch's
// antialias=True bilinear), then normalised, (v·scale − mean)/std. A clip
// must have the model's F frames; UniformIndices and SlidingWindows (and
// Video.Uniform, Video.Windows) cut them from longer videos.
//
// # Memory and concurrency
//
// Each call gets its own input and output tensors, so a Session serves many
// goroutines at once (ONNX Runtime's Run is thread-safe). The outputs are
// tensors preallocated in Go memory that ONNX Runtime writes into; the engine
// reads the attention there through staa.Tensor views, one per clip, so the
// attention is copied at most once — inside ONNX Runtime, when a graph's
// last node cannot write into the caller's buffer directly — and never on
// the Go side.
package runtime
