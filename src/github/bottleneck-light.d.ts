// Bottleneck's one-file build without Redis support, the one plugin-throttling loads; its types are the package's.
declare module "bottleneck/light.js" {
  import Bottleneck from "bottleneck";
  export default Bottleneck;
}
