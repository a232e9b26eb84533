//! Fuzz target: postal code + address → customer barcode
//! (`barcode::address_number`, `PostalData::check_address`,
//! `PostalData::customer_barcode`). Input: `postal\naddress`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (postal, address) = text.split_once('\n').unwrap_or(("100-0001", text));
    let _ = chohyo::japan::barcode::address_number(address);
    let postal_data = chohyo::japan::postal::PostalData::embedded().expect("embedded postal data");
    let _ = postal_data.check_address(postal, address);
    if let Ok(code) = postal_data.customer_barcode(postal, address) {
        assert_eq!(
            code.bar_string().chars().count(),
            chohyo::japan::barcode::BAR_COUNT
        );
    }
});
