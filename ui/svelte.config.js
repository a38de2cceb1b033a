// Svelte 5 understands `<script lang="ts">` natively; no preprocessing needed.
export default {};
