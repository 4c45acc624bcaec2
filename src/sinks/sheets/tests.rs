use super::*;

#[test]
fn start_cells_and_sheet_names_are_checked_with_readable_messages() {
    assert_eq!(check_start_cell("B3"), Ok(()));
    assert!(check_start_cell("B0").unwrap_err().contains("\"B0\""));
    assert_eq!(check_sheet_name("Q1 spend"), Ok(()));
    assert!(check_sheet_name(" ").is_err());
    assert!(check_sheet_name(&"x".repeat(83)).is_ok());
    assert!(check_sheet_name(&"x".repeat(84)).unwrap_err().contains("83"));
    assert!(check_sheet_name("a\tb").is_err());
    assert!(check_sheet_name("Report (adsync staging)").is_err());
}
