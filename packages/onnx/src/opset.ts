/** ONNX opset of every graph sedseg emits (operators chosen so that onnxruntime-web runs them). */
export const OPSET = 17;
