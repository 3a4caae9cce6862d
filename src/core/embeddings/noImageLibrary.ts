/**
 * Stands in for `sharp` in the bundles. transformers.js loads sharp at startup for
 * its image pipelines; Deja embeds text only, so shipping sharp's 20 MB of native
 * libvips would buy nothing. Anything that does reach for images gets a clear error.
 */
function noImageLibrary(): never {
  throw new Error('Deja embeds text only: image processing (sharp) is not included');
}
noImageLibrary.prototype = Object.create(null);
export default noImageLibrary;
