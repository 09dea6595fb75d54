"""Image: classify a picture with a pruned ViT and watch its patches drop out, layer by layer."""
import streamlit as st

from dashboard import catalog, controls, figures, image_ui, pictures, share_ui, state, ui

st.title("Image")
st.caption("Pick a CIFAR-10 test picture or upload your own, choose how hard to prune in the sidebar, and see which "
           "patches each layer of a Vision Transformer keeps (greyed ones were dropped; token merging paints each group "
           "of merged patches its mean colour).")
state.open_from_url("image", image_ui.IMAGE_URL)

entries = catalog.discover_models(kind="vision")
if not entries:
    st.info("No trained Vision Transformer yet: build the demo one below, or train one with the vision pipelines.")
image_ui.demo_section(entries)
if not entries:
    st.stop()

entry, classifier = image_ui.model_sidebar(entries)
method = controls.method_sidebar(controls.IMAGE, classifier)
view = image_ui.view_sidebar()

picture = image_ui.picture_input()
state.save_to_url("image", image_ui.IMAGE_URL)
if picture is None:
    st.stop()
result = pictures.classify_picture(classifier, method, picture.image)
trace = result.trace

ui.result_metrics(trace, result.model_ms, "Resizing")
if picture.true_label is not None:
    st.caption(f"True label: **{picture.true_label}**")
else:
    st.text(f"File: {picture.name}")     # user text: shown plain, never as markdown
st.dataframe([{"class": name, "probability": value} for name, value in pictures.top_classes(trace)], hide_index=True,
             column_config={"probability": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                           max_value=1)})

st.subheader("Patches, layer by layer")
if view == "grid":
    st.image(result.layer_images, caption=result.captions)
else:
    layer = st.select_slider("Layer", range(len(result.layer_images)), value=len(result.layer_images) - 1,
                             format_func=lambda i: "input" if i == 0 else f"layer {i}", key="image_layer")
    st.image(result.layer_images[layer], caption=result.captions[layer])
st.caption("What the model sees, then the same picture after each layer: greyed patches were dropped at that layer "
           "or before; under token merging, patches of one colour were merged into one token. Captions give the "
           "tokens kept (CLS included) out of those at the input.")
share_ui.picture_downloads(result)
expected = method.expected_counts(len(trace.tokens), trace.num_layers)
st.plotly_chart(figures.patch_count_figure(trace, expected), width="stretch")
st.caption(figures.PATCH_COUNT_CAPTION)
share_ui.share_view(image_ui.IMAGE_URL, "Image", image_ui.share_note())
