// Draws each ```mermaid block of the deck as a diagram, in place (https://mermaid.js.org).
// mermaid.render measures the text in a scratch element of its own, so the diagrams on
// slides reveal.js keeps hidden (display: none) come out the right size. When all are
// drawn, <body data-diagrams="drawn"> tells the browser test (and a curious reader).
// Larger text than mermaid's default 16px: a projected slide is read from the back row.
mermaid.initialize({ startOnLoad: false, theme: "neutral", securityLevel: "strict",
                     suppressErrorRendering: true, themeVariables: { fontSize: "20px" },
                     sequence: { actorFontSize: 18, messageFontSize: 18, noteFontSize: 18 } });

async function drawDiagrams() {
  const blocks = Array.from(document.querySelectorAll("pre.mermaid"));
  for (const [index, block] of blocks.entries()) {
    try {
      const { svg } = await mermaid.render(`diagram-${index}`, block.textContent);
      const figure = document.createElement("div");
      figure.className = "diagram";
      figure.innerHTML = svg;
      block.replaceWith(figure);
    } catch (error) {
      // The source stays on the slide, marked, with mermaid's reason as its tooltip.
      block.classList.add("diagram-error");
      block.title = String(error);
    }
  }
  document.body.dataset.diagrams = "drawn";
  Reveal.layout();
}

if (Reveal.isReady()) drawDiagrams(); else Reveal.on("ready", drawDiagrams);
