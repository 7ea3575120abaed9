// Marp CLI's settings for the socklab deck (slides/make-deck runs it).
export default {
  html: true, // the diagrams are inline SVG
  allowLocalFiles: false,
  options: {
    emoji: { shortcode: false, unicode: false }, // no emoji images fetched from a CDN
    math: false,
  },
};
