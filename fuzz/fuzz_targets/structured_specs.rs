#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| goalert_provisioning_fuzz::specs::structured_specs(data));
